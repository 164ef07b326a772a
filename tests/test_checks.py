"""The checks' diagnoses hold on generated values: a cause is named only when the evidence singles it out,
several matching variants are named together, NaN and infinities are always called by name, and a
value within tolerance never fails."""
from __future__ import annotations

import math

import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from autograder.checks import (CheckFailed, PartialCredit, assert_at_most, assert_close, assert_rel_error,
                               expect_tensor, names_a_mistake, naming_mistakes, partial, tiers)
from autograder.errors import StudentCodeError

finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)
vectors = st.lists(finite, min_size=2, max_size=12).map(lambda xs: torch.tensor(xs, dtype=torch.float64))


def failure(check, *args, **kwargs) -> str:
    with pytest.raises(CheckFailed) as raised:
        check(*args, **kwargs)
    return str(raised.value)


@given(finite, finite)
def test_two_scalars_are_never_said_to_differ_by_a_constant_factor(expected, got):
    assume(not math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-6) and not math.isclose(got, -expected,
                                                                                              rel_tol=1e-6))
    for check in (assert_close, assert_rel_error):
        message = failure(check, torch.tensor(got, dtype=torch.float64), torch.tensor(expected, dtype=torch.float64),
                          "loss")
        assert "constant factor" not in message and not names_a_mistake(message)


@given(vectors, st.floats(min_value=0.05, max_value=20).filter(lambda c: abs(c - 1) > 0.01))
def test_a_vector_scaled_by_a_constant_is_said_to_be(expected, scale):
    assume(int((expected.abs() > 1e-3).sum()) >= 2)
    message = failure(assert_close, expected * scale, expected, "grad")
    assert f"off by a constant factor of {scale:.4g}" in message and names_a_mistake(message)


@given(vectors)
def test_every_matching_variant_is_named_when_the_input_cannot_tell_them_apart(expected):
    wrong = expected + 1
    message = failure(assert_close, wrong, expected, "out",
                      mistakes={"the bias is added twice": wrong, "the mask is inverted": wrong.clone(),
                                "softmax over the wrong axis": wrong + 5})
    assert "the bias is added twice" in message and "the mask is inverted" in message
    assert "softmax over the wrong axis" not in message and "cannot tell apart" in message


@given(vectors)
def test_a_single_matching_variant_is_named_alone(expected):
    message = failure(assert_close, expected + 1, expected, "out",
                      mistakes={"the bias is added twice": expected + 1, "the mask is inverted": expected + 2})
    assert "likely mistake: the bias is added twice." in message and "mask" not in message


@given(vectors, st.integers(min_value=0, max_value=11), st.sampled_from([math.nan, math.inf, -math.inf]))
def test_nan_and_infinities_are_called_by_name(expected, index, bad):
    got = expected.clone()
    got[index % len(got)] = bad
    word = "NaN" if math.isnan(bad) else "infinite values"
    for check in (assert_close, assert_rel_error):
        assert f"your result contains {word}" in failure(check, got, expected, "logits")


@given(vectors, st.floats(min_value=-1, max_value=1))
def test_a_value_within_tolerance_never_fails(expected, wiggle):
    assert_close(expected * (1 + 1e-9 * wiggle), expected, "out")
    assert_close(expected.float(), expected.float(), "out")


def test_a_flipped_sign_is_named_without_guessing_why():
    message = failure(assert_close, -torch.arange(1.0, 5.0), torch.arange(1.0, 5.0), "dW")
    assert "likely mistake: the sign is flipped. 4 of 4 values differ" in message  # no guess at why


# ----------------------------------------------------------------------------------- partial credit

def test_tiers_give_full_marks_a_share_or_nothing_by_the_highest_threshold_reached():
    levels = [(0.93, 1.0), (0.85, 0.5), (0.5, 0.25)]
    assert tiers(0.95, levels, "accuracy") is None and tiers(0.93, levels, "accuracy") is None
    with pytest.raises(PartialCredit) as raised:
        tiers(0.8719, levels, "accuracy")
    assert raised.value.fraction == 0.5
    assert str(raised.value) == ("accuracy is 0.8719; at least 0.93 is needed for full marks: "
                                 "50% of the points for reaching 0.85")
    with pytest.raises(PartialCredit) as raised:
        tiers(0.5, levels, "accuracy")
    assert raised.value.fraction == 0.25
    for value in (0.3955, float("nan")):
        message = failure(tiers, value, levels, "accuracy")
        assert "at least 0.5 is needed for any points (0.93 for full marks)" in message
        assert not names_a_mistake(message)   # a measurement, like assert_at_least's
    assert "accuracy is nan" in failure(tiers, float("nan"), levels, "accuracy")


@pytest.mark.parametrize("levels", [
    [], [(0.9, 0.5)], [(0.8, 1.0), (0.9, 0.5)], [(0.9, 1.0), (0.8, 1.0)], [(0.9, 1.0), (0.8, 0.0)],
    [(0.9, 1.0), (0.8, 0.5), (0.8, 0.25)],
])
def test_tiers_refuse_levels_that_do_not_fall(levels):
    with pytest.raises(ValueError, match="falling thresholds"):
        tiers(0.5, levels, "accuracy")


def test_partial_credit_is_a_fraction_and_no_failed_check():
    with pytest.raises(PartialCredit) as raised:
        partial(0.25, "three of four layers right")
    assert (raised.value.fraction, raised.value.message) == (0.25, "three of four layers right")
    assert not isinstance(raised.value, AssertionError)   # `except CheckFailed` never swallows it
    for wrong in (-0.1, 1.5, float("nan"), True, "0.5"):
        with pytest.raises(ValueError, match="fraction from 0 to 1"):
            partial(wrong, "message")


# naming_mistakes: an exception the explainer recognises becomes a failure naming the mistake; others pass through.

UNASSIGNED = StudentCodeError(
    "UnboundLocalError", "cannot access local variable 'loss' where it is not associated with a value",
    '  File "<cell 22>", line 5, in train_step\n    loss.backward()\nUnboundLocalError: ...\n')


def _raising(error):
    def test(student):
        raise error
    return test


def test_naming_mistakes_names_what_the_exception_proves():
    with pytest.raises(CheckFailed) as failed:
        naming_mistakes()(_raising(UNASSIGNED))(None)
    message = str(failed.value)
    assert message.startswith("Likely mistake: `loss` is read in train_step before any value is assigned to it")
    assert "Your code raised UnboundLocalError: cannot access local variable 'loss'" in message
    assert 'File "<cell 22>", line 5, in train_step' in message
    assert names_a_mistake(message)


def test_naming_mistakes_passes_other_exceptions_and_results_through():
    other = StudentCodeError("RuntimeError", "mat1 and mat2 shapes cannot be multiplied", "")
    with pytest.raises(StudentCodeError) as raised:
        naming_mistakes()(_raising(other))(None)
    assert raised.value is other
    assert naming_mistakes()(lambda student: 42)(None) == 42


@given(st.text(min_size=1, max_size=80))
def test_naming_mistakes_uses_the_explainers_words_once_punctuated(mistake):
    with pytest.raises(CheckFailed) as failed:
        naming_mistakes(lambda error: mistake)(_raising(StudentCodeError("ValueError", "bad", "")))(None)
    message = str(failed.value)
    assert message.startswith(f"Likely mistake: {mistake}")
    assert message.endswith("\nYour code raised ValueError: bad")
    head = message.removesuffix("\nYour code raised ValueError: bad")
    assert head == f"Likely mistake: {mistake}" + ("" if mistake.endswith((".", "?", "!")) else ".")


# names_a_mistake: a test's own words that only set the expected against what came back name nothing.

printable = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=30)
plain = printable.filter(lambda t: not any(c in t for c in ";:\n"))


@given(printable, plain, plain)
def test_expected_against_got_with_nothing_more_names_nothing(call, expected, got):
    assume(names_a_mistake(call) and "likely mistake:" not in call.lower())
    assert not names_a_mistake(f"{call}: expected {expected}, got {got}")
    assert not names_a_mistake(f"{call} should return {expected}; got {got}")


@pytest.mark.parametrize("message, named", [
    ("conv_output_size(8, 3, stride=1, padding=1): expected 8, got 4", False),
    ("conv_output_size(8, 3, stride=1, padding=1): expected 8, got 6. Likely mistake: the padding is counted once",
     True),
    ("train(model, X, y) should return a list of 5 losses, one per epoch; got []", False),
    ("compare_optimizers should return a dict with the keys ['adam', 'momentum', 'sgd'], got []", False),
    ("CNN(8) has 4 parameter tensors (710 numbers), expected 8 (972 numbers) with shapes (4, 1, 3, 3), (4,)", False),
    ("LSTMCell(3, 8) has 440 parameters; expected 4·(H(D+H)+2H) = 416", False),
    ("held-out MSE of the sgd model after 300 steps (all three: sgd nan, adam 0.001) is nan; at most 0.25 is allowed",
     False),
    ("predict gives different answers for the same input: dropout is still active. Call model.eval()", True),
    ("x: expected a torch.Tensor, got None. Likely mistake: a return statement is missing", True),
])
def test_reports_and_diagnoses_are_told_apart(message, named):
    assert names_a_mistake(message) is named


def test_none_in_place_of_a_tensor_is_named_a_missing_return():
    assert "a return statement is missing" in failure(expect_tensor, None, "relu(z)")
    assert not names_a_mistake(failure(expect_tensor, 3, "relu(z)"))
    assert not names_a_mistake(failure(assert_at_most, 0.5, 0.25, "loss"))
