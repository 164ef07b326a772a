"""The lstm assignment grades its sample submissions as intended: exact points per test, and every
failure of a known mistake names that mistake."""
from __future__ import annotations

import pytest

from sample_grading import (assert_loses_exactly, assert_reference_scores_full_marks, assert_stub_is_not_implemented,
                            declared_points, graded, sample_names)


POINTS = declared_points("lstm")  # test name -> points, from reference/lstm/test_lstm.py

# The DigitLSTM tests that run its forward pass: a mistake that crashes it fails all of them.
_DIGIT_FORWARD = ("test_digit_lstm_output_shape", "test_digit_lstm_matches_reference",
                  "test_digit_lstm_every_row_matters", "test_digit_lstm_batch_independence",
                  "test_digit_lstm_learns_digits")


def _all(tests: tuple[str, ...], phrase: str) -> dict[str, str]:
    return {name: phrase for name in tests}


# sample -> {failing test: a phrase its message must contain}
EXPECTED: dict[str, dict[str, str]] = {
    "correct_fused_matmul": {},
    "mistake_cuda_device": _all(_DIGIT_FORWARD, 'a hard-coded device: your code puts a tensor on the GPU ("cuda")'),
    "mistake_hidden_state_batch_first": _all(_DIGIT_FORWARD, "the initial state is shaped (N, num_layers, H)"),
    "mistake_last_batch_element": _all(_DIGIT_FORWARD, "out[-1], the last *sequence of the batch*"),
    "mistake_first_time_step": {
        "test_digit_lstm_matches_reference": "the scores come from the first time step, out[:, 0]",
        "test_digit_lstm_every_row_matters": "the scores do not depend on the last row",
        "test_digit_lstm_learns_digits": "held-out accuracy",
    },
    "mistake_no_batch_first": {
        "test_digit_lstm_matches_reference": "batch_first=True is missing",
        "test_digit_lstm_every_row_matters": "depend on the other sequences of the batch",
        "test_digit_lstm_batch_independence": "depend on the other sequences of the batch",
        "test_digit_lstm_learns_digits": "held-out accuracy",
    },
    "mistake_gate_order": _all(
        ("test_cell_matches_torch_lstm_cell", "test_lstm_cell_function", "test_lstm_layer_matches_reference",
         "test_lstm_layer_gradients"),
        "the gate blocks are unpacked in the order (i, f, o, g)"),
    "mistake_inplace_gates": _all(("test_lstm_layer_gradients", "test_lstm_layer_reaches_back_in_time"),
                                  "an in-place operation breaks autograd"),
}


def test_points_add_up_to_100():
    assert sum(POINTS.values()) == 100


def test_every_sample_has_an_expectation():
    assert sample_names("lstm") == sorted(name.removesuffix(".ipynb") for name in EXPECTED)


@pytest.mark.parametrize("sample", sorted(EXPECTED))
def test_sample_loses_exactly_what_it_deserves(sample):
    assert_loses_exactly(graded("lstm", sample), POINTS, EXPECTED[sample])


def test_reference_scores_full_marks():
    assert_reference_scores_full_marks("lstm")


def test_stub_scores_zero_and_every_test_says_not_implemented():
    assert_stub_is_not_implemented("lstm")
