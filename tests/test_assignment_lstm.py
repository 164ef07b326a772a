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
# The tests that call lstm_layer: a result of the wrong shape fails all of them.
_LAYER = ("test_lstm_layer_matches_reference", "test_lstm_layer_gradients", "test_lstm_layer_reaches_back_in_time")
# The tests that call train: a mistake that crashes it fails all of them.
_TRAIN = ("test_train_updates_like_adam", "test_train_returns_the_mean_loss_of_each_epoch",
          "test_train_shuffles_with_its_seeded_generator", "test_train_switches_to_training_mode",
          "test_digit_lstm_learns_digits")
_BACK_IN_TIME = "the last output h_L does not depend on the first input"


def _all(tests: tuple[str, ...], phrase: str) -> dict[str, str]:
    return {name: phrase for name in tests}


# sample -> {failing test: a phrase its message must contain}
EXPECTED: dict[str, dict[str, str]] = {
    "correct_fused_matmul": {},
    "correct_per_gate_loops": {},
    "correct_precomputed_projection": {},
    # lstm_cell: only its own test loses points, whatever uses it
    "mistake_gate_order": {"test_lstm_cell_function": "the gate blocks are unpacked in the order (i, f, o, g)"},
    "mistake_no_tanh_on_cell_state": {"test_lstm_cell_function": "tanh is missing from h_next = o * tanh(c_next)"},
    "mistake_sigmoid_tanh_swapped": {"test_lstm_cell_function": "sigmoid and tanh are swapped"},
    "mistake_forget_bias": {"test_lstm_cell_function": "1 is added to the forget gate's pre-activation"},
    "mistake_single_bias": {"test_lstm_cell_function": "bias_hh is left out of z"},
    # LSTMCell
    "mistake_zero_state_float32": {"test_cell_zero_state": "the zero state made when state is None is wrong"},
    "mistake_state_unpacked_c_h": {"test_cell_matches_torch_lstm_cell": "the state pair is unpacked as (c, h)"},
    # lstm_layer
    "mistake_state_not_carried": {
        "test_lstm_layer_matches_reference": "the state is not carried from one step to the next",
        "test_lstm_layer_reaches_back_in_time": _BACK_IN_TIME,
    },
    "mistake_detached_state": {
        "test_lstm_layer_gradients": "the state is detached between time steps",
        "test_lstm_layer_reaches_back_in_time": _BACK_IN_TIME,
    },
    "mistake_inplace_gates": _all(("test_lstm_layer_gradients", "test_lstm_layer_reaches_back_in_time"),
                                  "an in-place operation breaks autograd"),
    "mistake_loop_over_batch": _all(_LAYER, "the loop runs over x.shape[0] = N"),
    # DigitLSTM
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
    "mistake_softmax_scores": {"test_digit_lstm_matches_reference": "forward returns probabilities"},
    # train and predict
    "mistake_missing_zero_grad": {
        "test_train_updates_like_adam": "gradients accumulate across steps",
        "test_digit_lstm_learns_digits": "held-out accuracy",
    },
    "mistake_adam_default_lr": {
        "test_train_updates_like_adam": "Adam runs with its default learning rate",
        "test_digit_lstm_learns_digits": "held-out accuracy",
    },
    "mistake_cross_entropy_arguments": _all(_TRAIN, "F.cross_entropy got the integer labels as its first argument"),
    "mistake_epoch_loss_sum": {
        "test_train_returns_the_mean_loss_of_each_epoch": "the sum of its batch losses, not their mean"},
    "mistake_train_without_train_mode": {"test_train_switches_to_training_mode": "call model.train()"},
    "mistake_shuffle_without_generator": {
        "test_train_shuffles_with_its_seeded_generator": "not the global random state"},
    "mistake_predict_in_train_mode": {"test_predict": "dropout is still active"},
    "mistake_predict_with_gradients": {"test_predict": "predict built an autograd graph while it ran"},
    "mistake_lstm_sizes_swapped": {
        **_all(("test_digit_lstm_output_shape", "test_digit_lstm_every_row_matters",
                "test_digit_lstm_batch_independence", "test_digit_lstm_learns_digits"),
               "nn.LSTM(input_size, hidden_size, ...) takes the input size first"),
        "test_digit_lstm_parameter_count": "has 210 parameters; expected 470",
        "test_digit_lstm_matches_reference": "has shape (12, 8), expected (32, 3)"},
    "mistake_weight_ih_sized_by_hidden": {
        "test_cell_parameters": "weight_ih is created with shape (32, 8), not (4H, D) = (32, 3)",
        "test_cell_zero_state": "mat1 and mat2 shapes cannot be multiplied",
        "test_cell_matches_torch_lstm_cell": "has shape (32, 8), expected (32, 3)"},
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
