"""The checks' diagnoses hold on generated values: a cause is named only when the evidence singles it out,
several matching variants are named together, NaN and infinities are always called by name, and a
value within tolerance never fails."""
from __future__ import annotations

import math

import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from autograder.checks import CheckFailed, assert_close, assert_rel_error, names_a_mistake

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
