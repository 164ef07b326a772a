"""Assignment-agnostic checks, run in the trusted parent on plain tensors that came back from the worker.

Every failure raises `CheckFailed` with a message a student can act on: what was checked, expected vs
got, where the first mismatch is and how large the largest error is. Where a known mistake is cheap to
recognise (a flipped sign, a transpose, a wrong constant factor, or a named wrong variant the test
computes), the message names it.
"""
from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn

import torch

from autograder.errors import StudentCodeError
from autograder.remote import RemoteObject
from autograder.unassigned import unassigned_mistake


class CheckFailed(AssertionError):
    """A check found the submission's answer wrong; the message is shown to the student."""


class PartialCredit(Exception):
    """Ends a test with a share of its points: the grader records `fraction` of them and shows `message`.

    Not an AssertionError, so nothing that catches failed checks catches it by accident.
    """

    def __init__(self, fraction: float, message: str) -> None:
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 <= fraction <= 1:
            raise ValueError(f"partial credit must be a fraction from 0 to 1, got {fraction!r}")
        super().__init__(message)
        self.fraction = float(fraction)
        self.message = message


def partial(fraction: float, message: str) -> NoReturn:
    """Give `fraction` (0 to 1) of the test's points and say why the rest were lost: a test's last word.

    The test ends here. Its status follows the points: `passed` at 1, `failed` at 0, `partial` between.
    """
    raise PartialCredit(fraction, message)


def tiers(value: float, levels: Sequence[tuple[float, float]], name: str) -> None:
    """Points by the highest threshold `value` reaches: `levels` are (threshold, fraction) pairs, highest
    threshold first, the first worth all the points, e.g. `[(0.93, 1.0), (0.85, 0.5)]`.

    Reaching the first returns; reaching a lower one ends the test with its fraction (`partial`); reaching
    none fails it. The message says what was measured and what the next level needs.
    """
    thresholds = [threshold for threshold, _ in levels]
    fractions = [fraction for _, fraction in levels]
    if (not levels or fractions[0] != 1 or not all(0 < f <= 1 for f in fractions)
            or any(a <= b for a, b in zip(thresholds, thresholds[1:]))
            or any(a <= b for a, b in zip(fractions, fractions[1:]))):
        raise ValueError(f"tiers need (threshold, fraction) pairs with falling thresholds and fractions, "
                         f"the first fraction 1.0; got {list(levels)!r}")
    full = thresholds[0]
    if value >= full:
        return
    shown = f"{value:.4g}" if math.isfinite(value) else str(value)
    for threshold, fraction in levels[1:]:
        if value >= threshold:
            partial(fraction, f"{name} is {shown}; at least {full:g} is needed for full marks: "
                              f"{fraction:.0%} of the points for reaching {threshold:g}")
    raise CheckFailed(f"{name} is {shown}; at least {thresholds[-1]:g} is needed for any points "
                      f"({full:g} for full marks)")


# A diagnosis: what the checks below add when they recognise the mistake (tests write the same words).
_DIAGNOSES = ("likely mistake:", "(same sizes in a different order", "(transposed:")
# What the checks below say when they cannot tell the mistake, and what a bare `assert` says: only what differs.
_REPORTS = tuple(re.compile(pattern) for pattern in (
    r": expected a torch\.Tensor, got ", r": expected shape \(.*\), got \(", r": expected dtype \S+, got ",
    r": \d+ of \d+ values differ from the expected result", r": relative error \S+ is above the \S+ allowed",
    r" is \S+; at least \S+ is needed", r" is \S+; at most \S+ is allowed",
    r"\.state_dict\(\) did not return a dict of tensors",
    r" has \d+ parameter(?:/buffer)? tensors.*, expected \d+", r" has \d+ parameters; expected ",
    r": parameter .* has shape \(.*\), expected \(",
    r"\Aassert ", r"\Aan assertion failed\Z",
    # a test's own words that only set what was expected against what came back, and stop there
    r"\A[^\n]*: expected [^\n;:]+, got [^\n;:]+\Z", r"\A[^\n]* should return [^\n;:]+[,;] got [^\n;:]+\Z",
))


def names_a_mistake(message: str) -> bool:
    """Whether a failure message names the mistake rather than only reporting a difference.

    It does when it holds a diagnosis (a `mistakes=` variant, a flipped sign, a transpose, a constant
    factor, swapped dimensions) or when a test wrote it itself; a check's bare report ("3 of 45 values
    differ ...", "expected shape ..., got ...") or a bare `assert` names nothing.
    """
    lowered = message.lower()
    if any(diagnosis in lowered for diagnosis in _DIAGNOSES):
        return True
    return not any(report.search(message) for report in _REPORTS)


def naming_mistakes(explain: Callable[[StudentCodeError], str | None] = unassigned_mistake
                    ) -> Callable[[Callable], Callable]:
    """A decorator for tests: when the student's code raises an exception that `explain` recognises (it returns
    the mistake, or None), the test fails with that mistake named, the exception and its traceback after it;
    any other exception is reported as it is. By default, a name or attribute read before it was assigned."""
    def decorate(test: Callable) -> Callable:
        @functools.wraps(test)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return test(*args, **kwargs)
            except StudentCodeError as error:
                mistake = explain(error)
                if mistake is None:
                    raise
                end = "" if mistake.endswith((".", "?", "!")) else "."
                detail = f"\n{error.traceback}" if error.traceback else ""
                raise CheckFailed(f"Likely mistake: {mistake}{end}\nYour code raised {error}{detail}") from None
        return run
    return decorate


# Relative error in the CS231n sense: < 1e-7 is good, > 1e-2 is wrong.
def rel_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    a, e = actual.double(), expected.double()
    return float(((a - e).abs() / (a.abs() + e.abs()).clamp_min(1e-8)).max()) if a.numel() else 0.0


# What None in place of a result says: Python returns None from a function that reaches its end.
NONE_RETURNED = "Likely mistake: a return statement is missing (a function without one returns None)"


def returned(value: Any, call: str) -> Any:
    """What a student's `call` returned; None is a failure naming the missing return statement."""
    if value is None:
        raise CheckFailed(f"{call} returned None. {NONE_RETURNED}")
    return value


def expect_tensor(value: Any, name: str) -> torch.Tensor:
    """The value as a plain tensor, or a failure saying what came back instead."""
    if isinstance(value, torch.Tensor) and type(value) is torch.Tensor:
        return value
    if value is None:
        raise CheckFailed(f"{name}: expected a torch.Tensor, got None. {NONE_RETURNED}")
    if isinstance(value, RemoteObject):
        got = f"an object of type {value.remote_type}"
    else:
        got = f"a {type(value).__name__}"
    raise CheckFailed(f"{name}: expected a torch.Tensor, got {got}")


def assert_shape(value: Any, shape: tuple[int, ...], name: str) -> torch.Tensor:
    t = expect_tensor(value, name)
    if tuple(t.shape) != tuple(shape):
        hint = ""
        if sorted(t.shape) == sorted(shape):
            hint = " (same sizes in a different order: are two dimensions swapped?)"
        raise CheckFailed(f"{name}: expected shape {tuple(shape)}, got {tuple(t.shape)}{hint}")
    return t


def assert_dtype(value: Any, dtype: torch.dtype, name: str) -> torch.Tensor:
    t = expect_tensor(value, name)
    if t.dtype != dtype:
        raise CheckFailed(f"{name}: expected dtype {dtype}, got {t.dtype}")
    return t


def _is_close(actual: torch.Tensor, expected: torch.Tensor, rtol: float, atol: float,
              equal_nan: bool = False) -> bool:
    return actual.shape == expected.shape and bool(
        torch.isclose(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan).all()
    )


def matching_mistake(actual: torch.Tensor, mistakes: Mapping[str, torch.Tensor], rtol: float = 1e-7,
                     atol: float = 1e-7) -> str | None:
    """The known wrong variants `actual` equals (NaN matching NaN), if any: all of them, when this input
    cannot tell them apart, so feedback never picks one cause the evidence does not single out."""
    matches = [mistake for mistake, wrong in mistakes.items()
               if _is_close(actual, wrong.to(actual.dtype), rtol, atol, equal_nan=True)]
    if len(matches) > 1:
        return "one of these, which this input cannot tell apart: " + "; or ".join(matches)
    return matches[0] if matches else None


def _diagnose(actual: torch.Tensor, expected: torch.Tensor, rtol: float, atol: float,
              mistakes: Mapping[str, torch.Tensor]) -> str | None:
    """The name of the mistake that `actual` matches, if any."""
    named = matching_mistake(actual, mistakes, rtol, atol)
    if named:
        return named
    if expected.abs().max() > atol and _is_close(actual, -expected, rtol, atol):
        return "the sign is flipped"
    if expected.dim() == 2 and expected.shape[0] != expected.shape[1] and _is_close(actual, expected.T, rtol, atol):
        return "the result is transposed"
    if int((expected.abs() > atol).sum()) < 2:
        return None  # any two scalars differ by a constant factor: that says nothing
    scale = (actual * expected).sum() / (expected * expected).sum().clamp_min(1e-30)
    if (expected.abs().max() > atol and abs(float(scale) - 1) > 1e-3 and float(scale) != 0
            and _is_close(actual, scale * expected, rtol, atol)):
        return f"off by a constant factor of {float(scale):.4g}"
    return None


def assert_close(actual: Any, expected: torch.Tensor, name: str, *, rtol: float | None = None,
                 atol: float | None = None, mistakes: Mapping[str, torch.Tensor] | None = None) -> None:
    """Elementwise closeness (torch.testing's default tolerances for the dtype unless given)."""
    got = expect_tensor(actual, name)
    default_rtol, default_atol = _default_tolerances(expected.dtype)
    rtol = default_rtol if rtol is None else rtol
    atol = default_atol if atol is None else atol
    if got.shape != expected.shape:
        assert_shape(got, tuple(expected.shape), name)
    got = got.to(expected.dtype) if got.is_floating_point() and expected.is_floating_point() else got
    if got.dtype != expected.dtype:
        raise CheckFailed(f"{name}: expected dtype {expected.dtype}, got {got.dtype}")
    if _is_close(got, expected, rtol, atol):
        return
    raise CheckFailed(_mismatch_message(got, expected, name, rtol, atol, mistakes or {}))


def _default_tolerances(dtype: torch.dtype) -> tuple[float, float]:
    return {torch.float64: (1e-7, 1e-7), torch.float32: (1.3e-6, 1e-5),
            torch.float16: (1e-3, 1e-5)}.get(dtype, (0.0, 0.0))


def _mismatch_message(got: torch.Tensor, expected: torch.Tensor, name: str, rtol: float, atol: float,
                      mistakes: Mapping[str, torch.Tensor]) -> str:
    if not got.is_floating_point():
        bad = (got != expected)
    else:
        bad = ~torch.isclose(got, expected, rtol=rtol, atol=atol)
    n_bad = int(bad.sum())
    first = tuple(int(i) for i in bad.nonzero()[0])
    diff = (got.double() - expected.double()).abs()
    diff = torch.where(torch.isnan(diff), torch.full_like(diff, float("inf")), diff)
    details = (f"{n_bad} of {got.numel()} values differ from the expected result. "
               f"First mismatch at index {list(first)}: expected {expected[first].item():.6g}, "
               f"got {got[first].item():.6g}; largest absolute error {diff.max().item():.3g}")
    details += _non_finite(got, expected)
    mistake = _diagnose(got, expected, rtol, atol, mistakes) if got.is_floating_point() else None
    return f"{name}: likely mistake: {mistake}. {details}" if mistake else f"{name}: {details}"


def _non_finite(got: torch.Tensor, expected: torch.Tensor) -> str:
    """What a student must hear about NaN or infinite values the expected result does not have."""
    if not got.is_floating_point():
        return ""
    said = [f"; your result contains {what}" for what, test in (("NaN", torch.isnan), ("infinite values", torch.isinf))
            if test(got).any() and not test(expected).any()]
    return "".join(said)


def assert_rel_error(actual: Any, expected: torch.Tensor, name: str, *, max_error: float = 1e-7,
                     mistakes: Mapping[str, torch.Tensor] | None = None) -> None:
    """CS231n relative error below `max_error` (1e-7 good, 1e-2 wrong)."""
    got = expect_tensor(actual, name)
    if got.shape != expected.shape:
        assert_shape(got, tuple(expected.shape), name)
    err = rel_error(got, expected)
    if err <= max_error:
        return
    details = f"relative error {err:.3g} is above the {max_error:g} allowed" + _non_finite(got, expected)
    mistake = _diagnose(got.double(), expected.double(), max_error, 1e-10, mistakes or {})
    raise CheckFailed(f"{name}: likely mistake: {mistake}. {details}" if mistake else f"{name}: {details}")


def numerical_gradient(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                       eps: float = 1e-6) -> torch.Tensor:
    """Centred finite differences of a scalar function, in float64."""
    x = x.detach().double().clone()
    grad = torch.zeros_like(x)
    flat_x, flat_g = x.view(-1), grad.view(-1)
    for i in range(flat_x.numel()):
        old = flat_x[i].item()
        flat_x[i] = old + eps
        plus = float(f(x))
        flat_x[i] = old - eps
        minus = float(f(x))
        flat_x[i] = old
        flat_g[i] = (plus - minus) / (2 * eps)
    return grad


def assert_gradient(analytic: Any, f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                    name: str, *, max_error: float = 1e-6,
                    mistakes: Mapping[str, torch.Tensor] | None = None) -> None:
    """A hand-written gradient against centred finite differences of the trusted function `f`."""
    assert_rel_error(analytic, numerical_gradient(f, x), name, max_error=max_error, mistakes=mistakes)


def accuracy(logits: Any, labels: torch.Tensor, name: str = "predictions") -> float:
    """Fraction correct, from (N, C) scores or (N,) predicted labels."""
    out = expect_tensor(logits, name)
    if out.dim() == 2:
        assert_shape(out, (len(labels), out.shape[1]), name)
        out = out.argmax(dim=1)
    else:
        assert_shape(out, (len(labels),), name)
    return float((out.long() == labels).double().mean())


def assert_at_least(value: float, threshold: float, name: str) -> None:
    if not value >= threshold:
        raise CheckFailed(f"{name} is {value:.4g}; at least {threshold:g} is needed")


def assert_at_most(value: float, threshold: float, name: str) -> None:
    if not value <= threshold:
        raise CheckFailed(f"{name} is {value:.4g}; at most {threshold:g} is allowed")


def state_dict_of(remote_module: RemoteObject, name: str = "model") -> dict[str, torch.Tensor]:
    """The student's parameters and buffers as plain tensors, validated."""
    state = remote_module.state_dict()
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise CheckFailed(f"{name}.state_dict() did not return a dict of tensors")
    return {k: expect_tensor(v, f"{name}.state_dict()[{k!r}]") for k, v in state.items()}


def copy_parameters(state: Mapping[str, torch.Tensor], module: torch.nn.Module,
                    name: str = "model") -> None:
    """Load parameters into `module` by order, so the student's layer names need not match ours."""
    targets = list(module.state_dict().items())
    values = list(state.values())
    if len(values) != len(targets):
        raise CheckFailed(f"{name} has {len(values)} parameter/buffer tensors, expected {len(targets)}: "
                          f"{[tuple(v.shape) for v in values]} vs {[tuple(t.shape) for _, t in targets]}")
    loaded = {}
    for (key, target), (student_key, value) in zip(targets, state.items()):
        if value.shape != target.shape:
            hint = ""
            if value.dim() == 2 and tuple(value.shape) == tuple(target.shape)[::-1]:
                hint = " (transposed: are in_features and out_features swapped?)"
            raise CheckFailed(f"{name}: parameter {student_key!r} has shape {tuple(value.shape)}, "
                              f"expected {tuple(target.shape)}{hint}")
        loaded[key] = value.to(target.dtype)
    module.load_state_dict(loaded)
