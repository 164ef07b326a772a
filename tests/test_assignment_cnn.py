"""The CNN assignment graded for real: reference, stub, and every sample submission."""
import pytest

from sample_grading import (assert_loses_exactly, assert_reference_scores_full_marks, assert_stub_is_not_implemented,
                            graded, sample_names)

ALL_TESTS = {
    "test_conv_output_size": 6, "test_conv2d_matches_F_conv2d": 8, "test_conv2d_stride_and_padding": 10,
    "test_conv2d_gradients": 6, "test_cnn_shapes_8x8_kernel3": 6, "test_cnn_shapes_8x8_kernel5": 6,
    "test_cnn_shapes_12x12_kernel3": 6, "test_cnn_shapes_12x12_kernel5": 6,
    "test_cnn_matches_reference_8x8_kernel3": 7, "test_cnn_matches_reference_12x12_kernel5": 7,
    "test_dropout_only_in_training_mode": 7, "test_predict_matches_reference": 6,
    "test_predict_batch_independence": 6, "test_train_loss_decreases_and_is_reproducible": 4,
    "test_digits_held_out_accuracy": 9,
}
MODEL_TESTS = [name for name in ALL_TESTS if not name.startswith(("test_conv_output_size", "test_conv2d"))]

SWAPPED = "swapped Conv2d arguments"
DROPOUT_AT_EVAL = "dropout left active at evaluation"

# sample -> {failing test: words its message must contain}
EXPECTED = {
    "correct_unfold_modulelist.ipynb": {},
    "correct_shift_and_add_sequential.ipynb": {},
    "correct_strided_functional_dropout.ipynb": {},
    "mistake_wrong_padding.ipynb": {
        "test_cnn_shapes_8x8_kernel5": "wrong padding",
        "test_cnn_shapes_12x12_kernel5": "wrong padding",
        "test_cnn_matches_reference_12x12_kernel5": "wrong padding",
    },
    "mistake_hardcoded_dense_input.ipynb": {
        "test_cnn_shapes_12x12_kernel3": "hard-coded dense input size",
        "test_cnn_shapes_12x12_kernel5": "hard-coded dense input size",
        "test_cnn_matches_reference_12x12_kernel5": "hard-coded dense input size",
    },
    "mistake_swapped_conv_channels.ipynb": {name: SWAPPED for name in MODEL_TESTS},
    "mistake_dropout_always_on.ipynb": {
        "test_cnn_matches_reference_8x8_kernel3": DROPOUT_AT_EVAL,
        "test_cnn_matches_reference_12x12_kernel5": DROPOUT_AT_EVAL,
        "test_dropout_only_in_training_mode": DROPOUT_AT_EVAL,
        "test_predict_matches_reference": DROPOUT_AT_EVAL,
        "test_predict_batch_independence": DROPOUT_AT_EVAL,
    },
    "mistake_predict_without_eval.ipynb": {
        "test_predict_matches_reference": "predict must call model.eval()",
        "test_predict_batch_independence": "predict must call model.eval()",
    },
}


def test_points_add_up_to_100():
    assert sum(ALL_TESTS.values()) == 100


def test_every_sample_has_an_expectation():
    assert sample_names("cnn") == sorted(name.removesuffix(".ipynb") for name in EXPECTED)


@pytest.mark.parametrize("sample", sorted(EXPECTED))
def test_sample_loses_exactly_what_it_deserves(sample):
    assert_loses_exactly(graded("cnn", sample), ALL_TESTS, EXPECTED[sample])


def test_reference_scores_full_marks():
    assert_reference_scores_full_marks("cnn")


def test_stub_scores_zero_and_every_test_says_not_implemented():
    assert_stub_is_not_implemented("cnn")
