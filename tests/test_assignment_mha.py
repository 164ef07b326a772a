"""The mha assignment grades its sample submissions as intended: exact points per test, and every
failure of a known mistake names that mistake."""
from __future__ import annotations

from pathlib import Path

import pytest

from autograder.grading import grade_notebook

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "examples" / "submissions" / "mha"

POINTS = {
    "test_attention_matches_pytorch": 10,
    "test_attention_weights_are_distributions": 5,
    "test_attention_mask_matches_pytorch": 10,
    "test_masked_keys_get_no_weight_and_no_influence": 5,
    "test_module_shapes_in_cross_attention": 5,
    "test_module_matches_reference": 15,
    "test_module_matches_nn_multihead_attention": 10,
    "test_module_mask": 10,
    "test_one_head_is_plain_attention": 5,
    "test_self_attention_is_permutation_equivariant": 5,
    "test_gradients_reach_every_projection": 10,
    "test_dropout_in_training_only": 10,
}

# sample -> (tests it fails, a phrase every one of those failures must contain)
EXPECTED = {
    "correct_einsum": ((), ""),
    "mistake_missing_scaling": (
        ("test_attention_matches_pytorch", "test_attention_mask_matches_pytorch", "test_module_matches_reference",
         "test_module_matches_nn_multihead_attention", "test_module_mask", "test_one_head_is_plain_attention"),
        "not divided by sqrt(d_k)"),
    "mistake_scale_by_d_model": (
        ("test_module_matches_reference", "test_module_matches_nn_multihead_attention", "test_module_mask"),
        "divided by sqrt(d_model) instead of sqrt(d_head)"),
    "mistake_softmax_wrong_axis": (
        ("test_attention_matches_pytorch", "test_attention_weights_are_distributions",
         "test_attention_mask_matches_pytorch", "test_masked_keys_get_no_weight_and_no_influence",
         "test_module_matches_reference", "test_module_matches_nn_multihead_attention", "test_module_mask",
         "test_one_head_is_plain_attention"),
        "softmax normalises over the query axis"),
    "mistake_mask_after_softmax": (
        ("test_attention_weights_are_distributions", "test_attention_mask_matches_pytorch",
         "test_module_matches_nn_multihead_attention", "test_module_mask"),
        "mask is applied after the softmax"),
    "mistake_mask_inverted": (
        ("test_attention_mask_matches_pytorch", "test_masked_keys_get_no_weight_and_no_influence",
         "test_module_matches_nn_multihead_attention", "test_module_mask"),
        "the mask is inverted"),
    "mistake_masked_fill_not_assigned": (
        ("test_attention_mask_matches_pytorch", "test_masked_keys_get_no_weight_and_no_influence",
         "test_module_matches_nn_multihead_attention", "test_module_mask"),
        "masked_fill returns a new tensor"),
    "mistake_split_heads_bare_view": (
        ("test_module_matches_reference", "test_module_matches_nn_multihead_attention", "test_module_mask",
         "test_self_attention_is_permutation_equivariant"),
        "split with a bare view"),
    "mistake_merge_heads_no_transpose": (
        ("test_module_matches_reference", "test_module_matches_nn_multihead_attention", "test_module_mask",
         "test_self_attention_is_permutation_equivariant"),
        "merged without transposing back"),
    "mistake_dropout_at_eval": (("test_dropout_in_training_only",), "dropout is active in evaluation mode"),
}

_results: dict[str, object] = {}


def graded(sample: str):
    """Each sample is graded once per test session."""
    if sample not in _results:
        _results[sample] = grade_notebook(SAMPLES / f"{sample}.ipynb", "mha", root=ROOT)
    return _results[sample]


def test_points_add_up_to_100():
    assert sum(POINTS.values()) == 100


def test_every_sample_is_listed():
    assert {p.stem for p in SAMPLES.glob("*.ipynb")} == set(EXPECTED)


@pytest.mark.parametrize("sample", sorted(EXPECTED))
def test_sample_scores(sample):
    failing, phrase = EXPECTED[sample]
    result = graded(sample)
    assert result.status == "graded" and not result.cell_errors, (result.error, result.cell_errors)
    by_name = {t.name: t for t in result.tests}
    assert set(by_name) == set(POINTS)
    for name, points in POINTS.items():
        test = by_name[name]
        assert test.max_score == points, name
        if name in failing:
            assert (test.status, test.score) == ("failed", 0), (name, test.status, test.message)
            assert phrase in test.message, (name, test.message)
        else:
            assert (test.status, test.score) == ("passed", points), (name, test.status, test.message)
    assert result.score == 100 - sum(POINTS[name] for name in failing)


def test_stub_is_not_implemented():
    stub = ROOT / "assignments" / "mha" / "mha.ipynb"
    if not stub.is_file():
        pytest.skip("no released stub (run `grade release`)")
    result = grade_notebook(stub, "mha", root=ROOT)
    assert result.score == 0
    assert {t.status for t in result.tests} == {"not_implemented"}
