"""The mha assignment grades its sample submissions as intended: exact points per test, and every
failure of a known mistake names that mistake."""
from __future__ import annotations

import pytest

from sample_grading import (assert_loses_exactly, assert_reference_scores_full_marks, assert_stub_is_not_implemented,
                            declared_points, graded, sample_names)


POINTS = declared_points("mha")  # test name -> points, from reference/mha/test_mha.py

# The tests of split_heads and merge_heads on their own, and the tests that run the module.
HEADS_ALONE = ("test_split_heads", "test_merge_heads")
MODULE_TESTS = tuple(name for name in POINTS if name.startswith(("test_module", "test_one_head", "test_self_attention",
                                                                 "test_gradients", "test_dropout")))

# sample -> (tests it fails, a phrase every one of those failures must contain)
EXPECTED = {
    "correct_einsum": ((), ""),
    "correct_head_loop": ((), ""),
    "correct_modulelist_functional": ((), ""),
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
        ("test_split_heads", "test_module_matches_reference", "test_module_matches_nn_multihead_attention",
         "test_module_mask", "test_self_attention_is_permutation_equivariant"),
        "split with a bare view"),
    "mistake_merge_heads_no_transpose": (
        ("test_merge_heads", "test_module_matches_reference", "test_module_matches_nn_multihead_attention",
         "test_module_mask", "test_self_attention_is_permutation_equivariant"),
        "merged without transposing back"),
    "mistake_dropout_at_eval": (("test_dropout_in_training_only",), "dropout is active in evaluation mode"),
    "mistake_weights_after_dropout": (("test_dropout_in_training_only",), "returned weights are taken after dropout"),
    "mistake_scores_times_sqrt_dk": (
        ("test_attention_matches_pytorch", "test_attention_mask_matches_pytorch", "test_module_matches_reference",
         "test_module_matches_nn_multihead_attention", "test_module_mask", "test_one_head_is_plain_attention"),
        "multiplied by sqrt(d_k) instead of divided by it"),
    "mistake_d_k_from_axis_2": (
        ("test_attention_matches_pytorch", "test_attention_mask_matches_pytorch", "test_module_matches_reference",
         "test_module_matches_nn_multihead_attention", "test_module_mask", "test_one_head_is_plain_attention"),
        "d_k is read from axis 2 of Q"),
    "mistake_keys_not_transposed": (tuple(name for name in POINTS if name not in HEADS_ALONE), "K is not transposed"),
    "mistake_merge_heads_view_after_transpose": (
        ("test_merge_heads", "test_module_shapes_in_cross_attention", "test_module_matches_reference",
         "test_module_matches_nn_multihead_attention", "test_module_mask",
         "test_self_attention_is_permutation_equivariant", "test_gradients_reach_every_projection",
         "test_dropout_in_training_only"),
        "view() after a transpose"),
    "mistake_d_head_float_division": (("test_split_heads",) + MODULE_TESTS, "use integer division"),
    "mistake_merge_heads_no_return": (("test_merge_heads",) + MODULE_TESTS, "return statement missing"),
    "mistake_split_heads_arguments_swapped": (MODULE_TESTS, "are its arguments swapped?"),
    "mistake_n_heads_not_stored": (MODULE_TESTS, "forward reads self.n_heads, which the object was never given"),
    "mistake_weights_only_when_masked": (
        ("test_attention_matches_pytorch", "test_attention_weights_are_distributions",
         "test_module_shapes_in_cross_attention", "test_module_matches_reference",
         "test_module_matches_nn_multihead_attention", "test_one_head_is_plain_attention",
         "test_self_attention_is_permutation_equivariant", "test_dropout_in_training_only"),
        "sits in a branch that did not run"),
}


def test_points_add_up_to_100():
    assert sum(POINTS.values()) == 100


def test_every_sample_has_an_expectation():
    assert sample_names("mha") == sorted(name.removesuffix(".ipynb") for name in EXPECTED)


@pytest.mark.parametrize("sample", sorted(EXPECTED))
def test_sample_loses_exactly_what_it_deserves(sample):
    assert_loses_exactly(graded("mha", sample), POINTS, dict.fromkeys(*EXPECTED[sample]))


def test_reference_scores_full_marks():
    assert_reference_scores_full_marks("mha")


def test_stub_scores_zero_and_every_test_says_not_implemented():
    assert_stub_is_not_implemented("mha")
