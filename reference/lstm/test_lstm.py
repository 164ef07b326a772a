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
LAYER_ARGUMENTS = ("x", "h0", "c0", "weight_ih", "weight_hh", "bias_ih", "bias_hh")

# The training budget: measured at 0.955-0.986 held-out accuracy over 12 seeds, about 2 s on one CPU thread.
DIGITS_HIDDEN, DIGITS_EPOCHS, DIGITS_LR, DIGITS_BATCH, DIGITS_THRESHOLD = 48, 10, 2e-2, 32, 0.93


# ---------------------------------------------------------------------------------------------------
# Naming mistakes that show up as an exception in the student's code rather than as a wrong number.

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


# ---------------------------------------------------------------------------------------------------
# Inputs, weights and wrong variants, all computed here.

def _randn(seed: int, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64) * scale


def _cell_weights(seed: int) -> tuple[torch.Tensor, ...]:
    """weight_ih, weight_hh, bias_ih, bias_hh, scaled so that no gate saturates."""
    return (_randn(seed, 4 * H, D, scale=0.6), _randn(seed + 1, 4 * H, H, scale=0.6),
            _randn(seed + 2, 4 * H, scale=0.3), _randn(seed + 3, 4 * H, scale=0.3))


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


_LSTM_KEY = re.compile(r"(weight|bias)_(ih|hh)_l\d+$")


def _load_digit_lstm(state: dict[str, torch.Tensor], module: torch.nn.Module) -> None:
    """The nn.LSTM's tensors first, then the head's, whichever order the submission declared them in."""
    lstm = [k for k in state if _LSTM_KEY.search(k)]
    rest = [k for k in state if k not in lstm]
    copy_parameters({k: state[k] for k in lstm + rest}, module, "DigitLSTM")


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


def _batch_mixing(model, x: torch.Tensor) -> str | None:
    """A message if one sequence's scores have a gradient with respect to another sequence."""
    for row in (0, len(x) - 1):
        grad_output = torch.zeros(len(x), C, dtype=F64)
        grad_output[row] = _randn(40 + row, C)
        grad_x = vjp(model, x, grad_output=grad_output).input_grads[0]
        grad_x = expect_tensor(grad_x, "gradient of the scores with respect to x")
        others = torch.cat([grad_x[:row], grad_x[row + 1:]])
        if others.abs().max() > 0:
            return ("the scores of one sequence depend on the other sequences of the batch (the gradient of "
                    f"sequence {row}'s scores reaches other sequences). nn.LSTM reads dimension 0 of its input "
                    "as time unless batch_first=True")
    return None


# ---------------------------------------------------------------------------------------------------
# Part 1-2: the cell.

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


@pytest.mark.points(8)
def test_lstm_cell_function(student, reference):
    weights = _cell_weights(20)
    x, h, c = _randn(24, N, D), _randn(25, N, H), _randn(26, N, H)
    with naming_mistakes():
        got_h, got_c = _pair(student.lstm_cell(x, h, c, *weights), "lstm_cell(x, h, c, ...)")
    want_h, want_c = reference.lstm_cell(x, h, c, *weights)
    wrong = _gate_order_mistakes(lambda t: reference.lstm_cell(x, h, c, *t(weights)))
    swapped = "h_next and c_next are returned in the wrong order (return h_next, c_next)"
    assert_close(got_h, want_h, "h_next of lstm_cell", mistakes={swapped: want_c, **{k: v[0] for k, v in wrong.items()}})
    assert_close(got_c, want_c, "c_next of lstm_cell", mistakes={swapped: want_h, **{k: v[1] for k, v in wrong.items()}})


# ---------------------------------------------------------------------------------------------------
# Part 3: the layer, unrolled over time, and its gradients.

def _layer_inputs(seed: int) -> tuple[torch.Tensor, ...]:
    return (_randn(seed, N, L, D), _randn(seed + 1, N, H, scale=0.5), _randn(seed + 2, N, H, scale=0.5),
            *_cell_weights(seed + 3))


def _layer_variant(reference, x, h0, c0, *weights, carry_h=True, carry_c=True, detach=False, output="h"):
    """The reference cell unrolled with one of the usual mistakes switched on."""
    h, c, outputs = h0, c0, []
    for t in range(x.shape[1]):
        h_in = h if carry_h else h0
        c_in = c if carry_c else c0
        if detach:
            h_in, c_in = h_in.detach(), c_in.detach()
        h, c = reference.lstm_cell(x[:, t], h_in, c_in, *weights)
        outputs.append(h if output == "h" else c)
    return torch.stack(outputs, dim=1)


def _check_layer_shape(output: object) -> torch.Tensor:
    got = expect_tensor(output, "lstm_layer(x, h0, c0, ...)")
    if tuple(got.shape) == (L, N, H):
        raise CheckFailed(f"lstm_layer: expected shape {(N, L, H)}, got {(L, N, H)}. Likely mistake: the hidden "
                          "states are stacked time first (dim=0); stack them batch first, torch.stack(..., dim=1)")
    return assert_shape(got, (N, L, H), "lstm_layer(x, h0, c0, ...)")


@pytest.mark.points(10)
def test_lstm_layer_matches_reference(student, reference):
    inputs = _layer_inputs(30)
    with naming_mistakes():
        got = _check_layer_shape(student.lstm_layer(*inputs))
    want = reference.lstm_layer(*inputs)
    mistakes = {
        "the state is not carried from one step to the next (every step starts again from h0, c0)":
            _layer_variant(reference, *inputs, carry_h=False, carry_c=False),
        "only h is carried from step to step; the cell state restarts from c0 at every step":
            _layer_variant(reference, *inputs, carry_c=False),
        "only c is carried from step to step; the hidden state restarts from h0 at every step":
            _layer_variant(reference, *inputs, carry_h=False),
        "the output holds the cell states c_t instead of the hidden states h_t":
            _layer_variant(reference, *inputs, output="c"),
        **_gate_order_mistakes(lambda t: reference.lstm_layer(*inputs[:3], *t(inputs[3:]))),
    }
    assert_close(got, want, "lstm_layer(x, h0, c0, ...)", mistakes=mistakes)


def _reference_grads(fn, inputs: tuple[torch.Tensor, ...], grad_output: torch.Tensor) -> list[torch.Tensor]:
    leaves = [t.detach().clone().requires_grad_(True) for t in inputs]
    fn(*leaves).backward(grad_output)
    return [t.grad for t in leaves]


@pytest.mark.points(15)
def test_lstm_layer_gradients(student, reference):
    inputs = _layer_inputs(40)
    grad_output = _randn(47, N, L, H)
    with naming_mistakes():
        _check_layer_shape(student.lstm_layer(*inputs))
        result = vjp(student.lstm_layer, *inputs, grad_output=grad_output, wrt=tuple(range(len(inputs))))
    assert_close(result.output, reference.lstm_layer(*inputs), "lstm_layer output (in the gradient test)",
                 mistakes=_gate_order_mistakes(lambda t: reference.lstm_layer(*inputs[:3], *t(inputs[3:]))))
    want = _reference_grads(reference.lstm_layer, inputs, grad_output)
    detached = _reference_grads(lambda *a: _layer_variant(reference, *a, detach=True), inputs, grad_output)
    for name, got, expected, wrong in zip(LAYER_ARGUMENTS, result.input_grads, want, detached):
        if got is None:
            raise CheckFailed(f"no gradient reached {name}: the output is cut off from it (.detach(), .data, "
                              ".item(), numpy or a new tensor built from its values)")
        assert_close(got, expected, f"gradient of lstm_layer's output with respect to {name}",
                     mistakes={"the state is detached between time steps, so gradients do not flow back "
                               "through time": wrong})


@pytest.mark.points(5)
def test_lstm_layer_reaches_back_in_time(student):
    inputs = _layer_inputs(50)
    grad_output = torch.zeros(N, L, H, dtype=F64)
    grad_output[:, -1] = 1.0  # only the last output
    with naming_mistakes():
        _check_layer_shape(student.lstm_layer(*inputs))
        result = vjp(student.lstm_layer, *inputs, grad_output=grad_output, wrt=(0, 2))
    grad_x, grad_c0 = result.input_grads
    for grad, what in ((grad_x, "the first input x[:, 0]"), (grad_c0, "the initial cell state c0")):
        first = None if grad is None else expect_tensor(grad, "gradient")
        if first is not None and what.startswith("the first"):
            first = first[:, 0]
        if first is None or first.abs().max() <= 1e-12:
            raise CheckFailed(f"the last output h_L does not depend on {what} (its gradient is zero): carry h and "
                              "c from each step to the next, without .detach(), so that gradients flow back "
                              "through time")


# ---------------------------------------------------------------------------------------------------
# Part 4: DigitLSTM on nn.LSTM.

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


@pytest.mark.points(12)
def test_digit_lstm_matches_reference(student, reference):
    x = _randn(70, N, L, D)
    with naming_mistakes():
        model = _digit_model(student)
        ref = reference.DigitLSTM(D, H, C, LAYERS).double()
        _load_digit_lstm(state_dict_of(model, "DigitLSTM"), ref)
        got = _check_scores_shape(model(x), N, L, "DigitLSTM scores")
    with torch.no_grad():
        zeros = torch.zeros(LAYERS, N, H, dtype=F64)
        out, (h_n, _) = ref.lstm(x, (zeros, zeros))  # (N, L, H), (LAYERS, N, H)
        time_major = torch.zeros(LAYERS, L, H, dtype=F64)
        out_time_major, _ = ref.lstm(x.transpose(0, 1), (time_major, time_major))  # dim 0 of x read as time
        mistakes = {
            "the scores come from the first time step, out[:, 0]; the last time step is out[:, -1]":
                ref.head(out[:, 0]),
            "the scores come from the average over time steps instead of the last time step out[:, -1]":
                ref.head(out.mean(dim=1)),
            "the scores come from h_n[0], the final state of the first layer; the last layer's is h_n[-1]":
                ref.head(h_n[0]),
            "batch_first=True is missing: nn.LSTM reads dimension 0 of x as time and mixes the sequences":
                ref.head(out_time_major[-1]),
        }
        want = ref(x)
    assert_close(got, want, "DigitLSTM scores on the reference's copied weights", mistakes=mistakes)


@pytest.mark.points(5)
def test_digit_lstm_every_row_matters(student):
    x = _randn(80, N, L, D)
    with naming_mistakes():
        model = _digit_model(student)
        _check_scores_shape(model(x), N, L, "DigitLSTM scores")
        result = vjp(model, x, grad_output=_randn(81, N, C))
        mixing = _batch_mixing(model, x)
    if mixing:
        raise CheckFailed(mixing)
    grad_x = expect_tensor(result.input_grads[0], "gradient of the scores with respect to x")
    per_step = grad_x.abs().sum(dim=(0, 2))  # (L,)
    if per_step[-1] == 0:
        raise CheckFailed("the scores do not depend on the last row x[:, -1] (zero gradient): they must come "
                          "from the hidden state after the last time step, out[:, -1], not out[:, 0]")
    if per_step[0] == 0:
        raise CheckFailed("the scores do not depend on the first row x[:, 0] (zero gradient): the LSTM must "
                          "read the whole sequence and carry its state from the first row to the last")


@pytest.mark.points(5)
def test_digit_lstm_batch_independence(student):
    x = _randn(90, N, L, D)
    order = torch.tensor([3, 0, 4, 2, 1])
    with naming_mistakes():
        model = _digit_model(student)
        scores = _check_scores_shape(model(x), N, L, "DigitLSTM scores")
        reordered = _check_scores_shape(model(x[order]), N, L, "DigitLSTM scores of a reordered batch")
        mixing = _batch_mixing(model, x)
    if mixing:
        raise CheckFailed(mixing)
    try:
        assert_close(reordered, scores[order], "scores of a reordered batch vs the same scores reordered")
    except CheckFailed as exc:
        raise CheckFailed(f"{exc}. Each sequence's scores must not depend on the rest of the batch") from None


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
