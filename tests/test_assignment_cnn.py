"""The CNN assignment graded for real: reference, stub, and every sample submission; and its data files, which
its own script makes."""
import subprocess
import sys

import pytest

from sample_grading import (ROOT, assert_loses_exactly, assert_reference_scores_full_marks,
                            assert_stub_is_not_implemented, declared_points, graded, sample_names)

ALL_TESTS = declared_points("cnn")  # test name -> points, from reference/cnn/test_cnn.py
MODEL_TESTS = [name for name in ALL_TESTS if not name.startswith(("test_conv_output_size", "test_conv2d"))]
CONV2D_TESTS = [name for name in ALL_TESTS if name.startswith("test_conv2d")]

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
        "test_cnn_shapes_14x14_kernel4": "the convolutions are assumed to keep the image size",
    },
    "mistake_hardcoded_dense_input.ipynb": {
        "test_cnn_shapes_12x12_kernel3": "hard-coded dense input size",
        "test_cnn_shapes_12x12_kernel5": "hard-coded dense input size",
        "test_cnn_matches_reference_12x12_kernel5": "hard-coded dense input size",
        "test_cnn_shapes_14x14_kernel4": "hard-coded dense input size",
        "test_shapes_held_out_accuracy": "hard-coded dense input size",
    },
    "mistake_swapped_conv_channels.ipynb": {name: SWAPPED for name in MODEL_TESTS},
    "mistake_dropout_always_on.ipynb": {
        "test_cnn_matches_reference_8x8_kernel3": DROPOUT_AT_EVAL,
        "test_cnn_matches_reference_12x12_kernel5": DROPOUT_AT_EVAL,
        "test_dropout_only_in_training_mode": DROPOUT_AT_EVAL,
        "test_predict_matches_reference": DROPOUT_AT_EVAL,
        "test_predict_batch_independence": DROPOUT_AT_EVAL,
    },
    "mistake_side_assumed_kept.ipynb": {
        "test_cnn_shapes_14x14_kernel4": "the convolutions are assumed to keep the image size",
    },
    "mistake_rgb_input_channels.ipynb": {name: "the images are grayscale" for name in MODEL_TESTS},
    "mistake_conv2d_float_size.ipynb": {name: "use floor division //" for name in CONV2D_TESTS},
    "mistake_train_without_train_mode.ipynb": {
        "test_train_switches_to_training_mode": "train does not call model.train()",
    },
    "mistake_epoch_total_not_reset.ipynb": {
        "test_train_loss_decreases_and_is_reproducible": "running total is not reset",
        "test_train_reports_mean_epoch_loss": "running total is not reset",
    },
    "mistake_epoch_loss_sum_of_batches.ipynb": {
        "test_train_reports_mean_epoch_loss": "the sum of the 3 minibatch means",
    },
    "mistake_cross_entropy_arguments_swapped.ipynb": {
        name: "F.cross_entropy's arguments are swapped" for name in (
            "test_train_loss_decreases_and_is_reproducible", "test_train_switches_to_training_mode",
            "test_train_reports_mean_epoch_loss", "test_shapes_held_out_accuracy")
    },
    "mistake_predict_without_no_grad.ipynb": {
        "test_predict_records_no_gradients": "not inside `with torch.no_grad():`",
    },
    "mistake_window_ignores_stride.ipynb": {
        name: "the window moves one pixel at a time" for name in ("test_conv2d_stride_and_padding",
                                                                  "test_conv2d_gradients")
    },
    "mistake_pad_width_only.ipynb": {
        name: "does not have the kernel's size" for name in ("test_conv2d_stride_and_padding", "test_conv2d_gradients")
    },
    "mistake_bias_view_with_batch.ipynb": {name: "view it as (1, C_out, 1, 1)" for name in CONV2D_TESTS},
    "mistake_bias_added_without_view.ipynb": {name: "the bias (5,) is added as it is" for name in CONV2D_TESTS},
    "mistake_epoch_total_misspelt.ipynb": {
        name: "`total_loss` is read in train before any value is assigned to it" for name in (
            "test_train_loss_decreases_and_is_reproducible", "test_train_switches_to_training_mode",
            "test_train_reports_mean_epoch_loss", "test_shapes_held_out_accuracy")
    },
    "mistake_predict_without_eval.ipynb": {
        "test_predict_matches_reference": "predict must call model.eval()",
        "test_predict_batch_independence": "predict must call model.eval()",
    },
    "mistake_conv2d_calls_F_conv2d.ipynb": {"test_conv2d_matches_F_conv2d": "conv2d calls torch.nn.functional.conv2d"},
    "mistake_convs_in_a_plain_list.ipynb": {name: "kept in a plain Python list or dict" for name in MODEL_TESTS},
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


def test_the_shipped_shapes_are_exactly_what_their_script_makes(tmp_path):
    data = ROOT / "reference" / "cnn" / "data"
    subprocess.run([sys.executable, str(ROOT / "reference" / "cnn" / "make_data.py"), str(tmp_path)], check=True,
                   timeout=300)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in data.iterdir())
    for made in tmp_path.iterdir():
        assert made.read_bytes() == (data / made.name).read_bytes(), f"run reference/cnn/make_data.py: {made.name}"
