"""Graded tests for the LSTM assignment: a hand-written cell, its gradients through time, and a digit
classifier built on nn.LSTM.

Every comparison is made here, in the grader, on tensors that came back from the submission: the cell
against torch.nn.LSTMCell and the reference on copied weights in float64, the gradients against the
reference's autograd, and the classifier's accuracy on held-out digits the worker never sees labels of.
Sizes differ in every dimension (N, L, D, H, C, 4H, num_layers) so that swapped axes cannot pass.
"""


from __future__ import annotations
import itertools
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
import pytest
import torch
from autograder.checks import (CheckFailed, accuracy, assert_at_least, assert_close, assert_shape,
                               copy_parameters, expect_tensor, state_dict_of)
from autograder.datasets import digits_split
from autograder.errors import StudentCodeError
from autograder.remote import vjp
N, L, D, H, C, LAYERS = 5, 7, 3, 4, 6, 2
F64 = torch.float64
GATES = ("i", "f", "g", "o")
CELL_PARAMETERS = {"weight_ih": (4 * H, D), "weight_hh": (4 * H, H), "bias_ih": (4 * H,), "bias_hh": (4 * H,)}
DIGITS_HIDDEN, DIGITS_EPOCHS, DIGITS_LR, DIGITS_BATCH, DIGITS_THRESHOLD = 48, 10, 2e-2, 32, 0.93
_HIDDEN_SIZE = re.compile(r"Expected hidden\[\d\] size \((\d+), (\d+), (\d+)\), got \[(\d+), (\d+), (\d+)\]")
_DEVICE = ('a hard-coded device: your code puts a tensor on the GPU ("cuda"), e.g. with '
           'torch.zeros(..., device="cuda") or .to("cuda"), but grading runs on a machine without a GPU. '
           "Create new tensors where the input lives: x.new_zeros(...) or torch.zeros(..., device=x.device)")
_IN_PLACE = ("an in-place operation breaks autograd: a tensor that backward() needs was changed in place "
             "(e.g. z.sigmoid_(), z[:, :H].sigmoid_(), c.mul_(f), h += ...). Use out-of-place operations "
             "such as i = torch.sigmoid(z_i)")
_DTYPE = ("mixed dtypes: a new tensor is made with a fixed dtype (torch.zeros(...) is always float32) or an "
          "input is converted, while the tests run the model in float64. Make new tensors with "
          "x.new_zeros(...) so that they follow the input's dtype and device")


def _name_error(message: str) -> str | None:
    """The mistake an exception message from the student's code points to, if it is a known one."""
    match = _HIDDEN_SIZE.search(message)
    if match:
        expected, got = tuple(map(int, match.groups()[:3])), tuple(map(int, match.groups()[3:]))
        if (got[1], got[0], got[2]) == expected:
            return (f"the initial state is shaped (N, num_layers, H) = {got}, but nn.LSTM wants "
                    f"(num_layers, N, H) = {expected}: batch_first=True applies to the input and the output "
                    "only, never to h0/c0 or h_n/c_n")
        if got[0] == expected[0] and got[2] == expected[2]:
            return (f"nn.LSTM expects a state for {expected[1]} sequences but yours has {got[1]}: it reads the "
                    "batch from dimension 1 of the input, so batch_first=True is missing")
        return f"the initial state has shape {got}, but nn.LSTM expects (num_layers, N, H) = {expected}"
    if "CUDA" in message or "cuda" in message or "NVIDIA" in message:
        return _DEVICE
    if "inplace" in message or "in-place" in message or "in place" in message:
        return _IN_PLACE
    if "dtype" in message or "scalar type" in message:
        return _DTYPE
    return None


@contextmanager
def naming_mistakes() -> Iterator[None]:
    """Turn an exception from the student's code that a known mistake explains into a failure naming it."""
    try:
        yield
    except StudentCodeError as exc:
        mistake = _name_error(f"{exc.type_name}: {exc.message}")
        if mistake is None:
            raise
        detail = f"\n{exc.traceback}" if 'File "<' in exc.traceback else ""
        raise CheckFailed(f"Likely mistake: {mistake}.\nYour code raised {exc}{detail}") from None


def _randn(seed: int, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64) * scale


def _reordered(weights: tuple[torch.Tensor, ...], order: tuple[str, ...]) -> tuple[torch.Tensor, ...]:
    """Weights with their gate blocks rearranged so that code using (i, f, g, o) computes what code that
    unpacks the blocks in `order` computes with the original weights."""
    blocks = [order.index(gate) for gate in GATES]
    return tuple(torch.cat([w.chunk(4, dim=0)[k] for k in blocks]) for w in weights)


def _gate_order_mistakes(compute) -> dict[str, torch.Tensor]:
    """`compute(weights_transform)` for every wrong order of the four gate blocks."""
    mistakes = {}
    for order in itertools.permutations(GATES):
        if order != GATES:
            name = (f"the gate blocks are unpacked in the order ({', '.join(order)}); PyTorch stacks them as "
                    "(i, f, g, o)")
            mistakes[name] = compute(lambda weights, order=order: _reordered(weights, order))
    return mistakes


def _torch_lstm_cell(x, h, c, *weights):
    """torch.nn.LSTMCell with the given weights: trusted, and needs nothing from the reference solution
    (public tests also run against the student bundle, whose reference notebook is only a stub)."""
    cell = torch.nn.LSTMCell(x.shape[1], h.shape[1]).double()
    parameters = dict(zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), weights))
    with torch.no_grad():
        return torch.func.functional_call(cell, parameters, (x, (h, c)))


def _pair(value: object, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        got = f"a {type(value).__name__}" if not isinstance(value, (tuple, list)) else f"{len(value)} values"
        raise CheckFailed(f"{name}: expected a pair (h_next, c_next), got {got}")
    return expect_tensor(value[0], f"{name}[0] (h_next)"), expect_tensor(value[1], f"{name}[1] (c_next)")


def _load_cell(state: dict[str, torch.Tensor], module: torch.nn.Module) -> None:
    """By name when the names are nn.LSTMCell's, else by order."""
    if set(state) == set(CELL_PARAMETERS):
        state = {k: state[k] for k in CELL_PARAMETERS}
    copy_parameters(state, module, "LSTMCell")


def _check_scores_shape(scores: object, n: int, length: int, name: str, classes: int = C) -> torch.Tensor:
    out = expect_tensor(scores, name)
    if tuple(out.shape) == (length, classes) and length != n:
        raise CheckFailed(
            f"{name}: expected shape {(n, classes)}, got {(length, classes)}. Likely mistake: the scores come "
            "from out[-1], the last *sequence of the batch* at every time step, instead of out[:, -1], the "
            "last *time step* of every sequence (with batch_first=True, out is (N, L, H))")
    if tuple(out.shape) == (n, length, classes):
        raise CheckFailed(f"{name}: expected shape {(n, classes)}, got {(n, length, classes)}: the head is "
                          "applied at every time step; classify from the last one, out[:, -1]")
    return assert_shape(out, (n, classes), name)


def _digit_model(student, layers: int = LAYERS, double: bool = True):
    model = student.DigitLSTM(D, H, C, layers)
    if double:
        model.double()
    return model


@pytest.mark.public
@pytest.mark.points(6)
def test_cell_parameters_and_shapes(student):
    with naming_mistakes():
        cell = student.LSTMCell(D, H)
        state = state_dict_of(cell, "LSTMCell")
        missing = [k for k in CELL_PARAMETERS if k not in state]
        if missing:
            raise CheckFailed(f"LSTMCell({D}, {H}) has no parameter named {', '.join(missing)}: like "
                              f"nn.LSTMCell it needs weight_ih, weight_hh, bias_ih and bias_hh (it has {sorted(state)})")
        count = sum(t.numel() for t in state.values())
        expected_count = 4 * (H * (D + H) + 2 * H)
        if count != expected_count:
            raise CheckFailed(f"LSTMCell({D}, {H}) has {count} parameters; expected 4·(H(D+H)+2H) = {expected_count}")
        for name, shape in CELL_PARAMETERS.items():
            assert_shape(state[name], shape, f"LSTMCell({D}, {H}).{name} (four gate blocks of H rows)")
        bound = 1 / math.sqrt(H)
        for name in CELL_PARAMETERS:
            values = state[name].double()
            if values.abs().max() > bound + 1e-6 or values.std() < bound / 5:
                raise CheckFailed(f"LSTMCell({D}, {H}).{name} should be initialised uniformly in "
                                  f"[-1/sqrt(H), 1/sqrt(H)] = [-{bound:.3g}, {bound:.3g}]; its values range from "
                                  f"{values.min().item():.3g} to {values.max().item():.3g}")
        x = _randn(1, N, D).float()
        h, c = _pair(cell(x), f"LSTMCell({D}, {H})(x)")
        assert_shape(h, (N, H), "h_next from LSTMCell(x)")
        assert_shape(c, (N, H), "c_next from LSTMCell(x)")
        h, c = _pair(cell(x, (_randn(2, N, H).float(), _randn(3, N, H).float())), f"LSTMCell({D}, {H})(x, (h, c))")
        assert_shape(h, (N, H), "h_next from LSTMCell(x, (h, c))")
        assert_shape(c, (N, H), "c_next from LSTMCell(x, (h, c))")


@pytest.mark.public
@pytest.mark.points(10)
def test_cell_matches_torch_lstm_cell(student):
    with naming_mistakes():
        cell = student.LSTMCell(D, H)
        cell.double()
        torch_cell = torch.nn.LSTMCell(D, H).double()
        _load_cell(state_dict_of(cell, "LSTMCell"), torch_cell)
        weights = tuple(p.detach() for p in (torch_cell.weight_ih, torch_cell.weight_hh,
                                             torch_cell.bias_ih, torch_cell.bias_hh))
        x, h, c = _randn(10, N, D), _randn(11, N, H), _randn(12, N, H)
        zeros = torch.zeros(N, H, dtype=F64)
        for label, args, (h0, c0) in [("LSTMCell(x, (h, c))", (x, (h, c)), (h, c)),
                                      ("LSTMCell(x) from the zero state", (x,), (zeros, zeros))]:
            got_h, got_c = _pair(cell(*args), label)
            with torch.no_grad():
                want_h, want_c = torch_cell(x, (h0, c0))
                wrong = _gate_order_mistakes(lambda t: _torch_lstm_cell(x, h0, c0, *t(weights)))
            swapped = "h_next and c_next are returned in the wrong order (return h_next, c_next)"
            assert_close(got_h, want_h, f"h_next of {label} vs nn.LSTMCell",
                         mistakes={swapped: want_c, **{k: v[0] for k, v in wrong.items()}})
            assert_close(got_c, want_c, f"c_next of {label} vs nn.LSTMCell",
                         mistakes={swapped: want_h, **{k: v[1] for k, v in wrong.items()}})


@pytest.mark.public
@pytest.mark.points(6)
def test_digit_lstm_output_shape(student):
    with naming_mistakes():
        for layers, n, length in ((LAYERS, N, L), (1, N + 4, L - 3)):
            model = _digit_model(student, layers, double=False)
            x = _randn(60 + layers, n, length, D).float()
            _check_scores_shape(model(x), n, length, f"DigitLSTM({D}, {H}, {C}, num_layers={layers}) scores "
                                                     f"for x of shape {(n, length, D)}")


@pytest.mark.public
@pytest.mark.points(5)
def test_digit_lstm_parameter_count(student):
    with naming_mistakes():
        for layers in (1, LAYERS):
            state = state_dict_of(student.DigitLSTM(D, H, C, layers), "DigitLSTM")
            per_layer = [4 * (H * (D + H) + 2 * H)] + [4 * (H * (H + H) + 2 * H)] * (layers - 1)
            expected = sum(per_layer) + C * H + C
            got = sum(t.numel() for t in state.values())
            if got != expected:
                raise CheckFailed(
                    f"DigitLSTM({D}, {H}, {C}, num_layers={layers}) has {got} parameters; expected {expected}: "
                    f"nn.LSTM layers {per_layer} (4·(H(D+H)+2H) each, with D = H from the second layer on) "
                    f"plus the linear head {C * H + C} (H·C + C)")


@pytest.mark.public
@pytest.mark.points(13)
def test_digit_lstm_learns_digits(student):
    X_train, y_train, X_test, y_test = digits_split()
    X_train, X_test = X_train.reshape(-1, 8, 8), X_test.reshape(-1, 8, 8)  # (N, rows, pixels)
    with naming_mistakes():
        model = student.DigitLSTM(8, DIGITS_HIDDEN, 10)
        _check_scores_shape(model(X_test[:5]), 5, 8, "DigitLSTM scores for 5 digits", classes=10)
        student.train(model, X_train, y_train, epochs=DIGITS_EPOCHS, lr=DIGITS_LR,
                      batch_size=DIGITS_BATCH, seed=0)
        predictions = student.predict(model, X_test)
    held_out = accuracy(predictions, y_test, "predict(model, X_test)")
    assert_at_least(held_out, DIGITS_THRESHOLD,
                    f"held-out accuracy after train(model, X, y, epochs={DIGITS_EPOCHS}, lr={DIGITS_LR}, "
                    f"batch_size={DIGITS_BATCH})")
