"""The MLP assignment graded for real: reference, stub, and every sample submission."""
from pathlib import Path

import pytest

from autograder.grading import grade_notebook

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "examples" / "submissions" / "mlp"
ALL_TESTS = {
    "test_linear_forward": 5, "test_mse_loss": 5, "test_mse_gradients_match_finite_differences": 10,
    "test_gradient_step": 5, "test_collapse_linear": 5, "test_activations": 5,
    "test_activation_derivatives_match_autograd": 5, "test_softmax": 5, "test_cross_entropy": 5,
    "test_mlp_shapes": 10, "test_mlp_matches_reference": 10, "test_train_step_updates_like_sgd": 10,
    "test_predict_uses_eval_mode": 5, "test_digits_accuracy": 15,
}

# sample -> {failing test: words its message must contain}
EXPECTED = {
    "correct_functional.ipynb": {},
    "mistake_gradient_sign.ipynb": {"test_mse_gradients_match_finite_differences": "sign is flipped"},
    "mistake_missing_zero_grad.ipynb": {"test_train_step_updates_like_sgd": "zero_grad",
                                        "test_digits_accuracy": "held-out accuracy"},
    "mistake_no_nonlinearity.ipynb": {"test_mlp_matches_reference": "no nonlinearity"},
    "mistake_predict_in_train_mode.ipynb": {"test_predict_uses_eval_mode": "model.eval()"},
    "mistake_softmax_before_loss.ipynb": {"test_train_step_updates_like_sgd": "softmax applied before",
                                          "test_digits_accuracy": "held-out accuracy"},
    "mistake_swapped_in_out.ipynb": {"test_mlp_shapes": "in_features and out_features swapped",
                                     "test_mlp_matches_reference": "in_features and out_features swapped",
                                     "test_digits_accuracy": "mat1 and mat2 shapes"},
}


def test_every_sample_has_an_expectation():
    assert sorted(p.name for p in SAMPLES.glob("*.ipynb")) == sorted(EXPECTED)


@pytest.mark.parametrize("sample", sorted(EXPECTED))
def test_sample_loses_exactly_what_it_deserves(sample):
    result = grade_notebook(SAMPLES / sample, "mlp", ROOT)
    failing = EXPECTED[sample]
    assert {t.name: t.max_score for t in result.tests} == ALL_TESTS
    for test in result.tests:
        if test.name in failing:
            assert test.score == 0 and test.status in ("failed", "error"), test
            assert failing[test.name] in test.message, test.message
        else:
            assert (test.score, test.status) == (test.max_score, "passed"), test
    assert result.score == 100 - sum(ALL_TESTS[name] for name in failing)
    assert result.cell_errors == []


def test_reference_scores_full_marks():
    result = grade_notebook(ROOT / "reference" / "mlp" / "mlp.ipynb", None, ROOT)
    assert result.assignment == "mlp" and (result.score, result.max_score) == (100, 100)


def test_stub_scores_zero_and_every_test_says_not_implemented():
    result = grade_notebook(ROOT / "assignments" / "mlp" / "mlp.ipynb", "mlp", ROOT)
    assert (result.score, result.max_score, result.status) == (0, 100, "graded")
    assert {t.status for t in result.tests} == {"not_implemented"}
    assert all("not implemented" in t.message for t in result.tests)
