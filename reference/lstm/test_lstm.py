"""Graded tests for the LSTM assignment (100 points): a hand-written cell, the layer that unrolls it and its
gradients through time, a digit classifier built on nn.LSTM, and its training.

Every comparison is made here, in the grader, on tensors that came back from the submission: in float64, with
sizes that differ in every dimension (N, L, D, H, C, 4H, num_layers) so that swapped axes cannot pass. Known
mistakes are recomputed here on the same weights and inputs, so that a failure can name the mistake; an
exception from the submission that a known mistake explains fails its test with that mistake named.

Each test checks one part of the notebook's contract. A part built on an earlier part (LSTMCell and lstm_layer
on lstm_cell) that is wrong only because the earlier part is wrong costs nothing more: the earlier part's test
takes the points. Training is checked on small models the tests build in the worker, and the digit classifier's
accuracy is measured here, on the weights the submission trained.
"""
from __future__ import annotations

import copy
import itertools
import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import torch
import torch.nn.functional as F

from autograder import checks
from autograder.checks import (CheckFailed, accuracy, assert_at_least, assert_close, assert_shape,
                               copy_parameters, expect_tensor, state_dict_of)
from autograder.datasets import digits_split
from autograder.errors import StudentCodeError
from autograder.remote import RemoteObject, manual_seed, observe, vjp

N, L, D, H, C, LAYERS = 5, 7, 3, 8, 6, 2
F64 = torch.float64
GATES = ("i", "f", "g", "o")
CELL_PARAMETERS = {"weight_ih": (4 * H, D), "weight_hh": (4 * H, H), "bias_ih": (4 * H,), "bias_hh": (4 * H,)}
CELL_SHAPES = {"weight_ih": "(4H, D)", "weight_hh": "(4H, H)", "bias_ih": "(4H,)", "bias_hh": "(4H,)"}
LAYER_ARGUMENTS = ("x", "h0", "c0", "weight_ih", "weight_hh", "bias_ih", "bias_hh")

# The digits budget: measured at 0.955-0.986 held-out accuracy over 12 seeds, about 2 s on one CPU thread.
DIGITS_HIDDEN, DIGITS_EPOCHS, DIGITS_LR, DIGITS_BATCH, DIGITS_THRESHOLD = 48, 10, 2e-2, 32, 0.93

# train on a small model: twelve copies of one sequence, so that every shuffled order makes the same batches
# and the run can be replayed here whatever order the student's generator draws; none is train's default.
TRAIN_SAMPLES, TRAIN_BATCH, TRAIN_EPOCHS, TRAIN_LR, TRAIN_SEED = 12, 4, 3, 0.05, 7


# ---------------------------------------------------------------------------------------------------
# Naming mistakes that show up as an exception in the student's code rather than as a wrong number.

_HIDDEN_SIZE = re.compile(r"Expected hidden\[\d\] size \((\d+), (\d+), (\d+)\), got \[(\d+), (\d+), (\d+)\]")
_UNASSIGNED = re.compile(r"name '(\w+)' is not defined|cannot access local variable '(\w+)' where it is not "
                         r"associated with a value|local variable '(\w+)' referenced before assignment")
_NO_ATTRIBUTE = re.compile(r"'(LSTMCell|DigitLSTM)' object has no attribute '(\w+)'")
_LSTM_INPUT_SIZE = re.compile(r"input\.size\(-1\) must be equal to input_size\. Expected (\d+), got (\d+)")
_UNIFORM_RANGE = re.compile(r"uniform_ expects to return a \[from, to\) range, but found from=(\S+) > to=(\S+)")

_DEVICE = ('a hard-coded device: your code puts a tensor on the GPU ("cuda"), e.g. with '
           'torch.zeros(..., device="cuda") or .to("cuda"), but grading runs on a machine without a GPU. '
           "Create new tensors where the input lives: x.new_zeros(...) or torch.zeros(..., device=x.device)")
_IN_PLACE = ("an in-place operation breaks autograd: a tensor that backward() needs was changed in place "
             "(e.g. z.sigmoid_(), z[:, :H].sigmoid_(), c.mul_(f), h += ...). Use out-of-place operations "
             "such as i = torch.sigmoid(z_i)")
_DTYPE = ("mixed dtypes: a new tensor is made with a fixed dtype (torch.zeros(...) is always float32) or an "
          "input is converted, while the tests run the model in float64. Make new tensors with "
          "x.new_zeros(...) so that they follow the input's dtype and device")
_FLOAT_SIZE = ("a size is a float: in Python 3 `/` always gives a float (8 / 2 == 4.0), which tensor sizes "
               "refuse; compute sizes with integers (4 * H, or //)")
_LABELS_FIRST = ("F.cross_entropy got the integer labels as its first argument: it is F.cross_entropy(scores, "
                 "labels), the (N, C) scores first and the (N,) labels second")
_EMPTY_STACK = ("torch.stack was given an empty list: nothing was appended to the list of hidden states it "
                "stacks (append h after every step)")


def _name_error(message: str) -> str | None:
    """The mistake an exception message from the student's code points to, if it is a known one."""
    unassigned, no_attribute = _UNASSIGNED.search(message), _NO_ATTRIBUTE.search(message)
    if unassigned:
        name = next(group for group in unassigned.groups() if group)
        return (f"`{name}` is read before anything is assigned to it: is the line that computes {name} missing, "
                "or is the name spelled differently there?")
    if no_attribute:
        owner, attribute = no_attribute.groups()
        return f"{owner} has no attribute `{attribute}`: __init__ must create self.{attribute} before forward uses it"
    match = _HIDDEN_SIZE.search(message)
    if match:
        expected, got = tuple(map(int, match.groups()[:3])), tuple(map(int, match.groups()[3:]))
        if (got[1], got[0], got[2]) == expected:
            return (f"the initial state is shaped (N, num_layers, H) = {got}, but nn.LSTM wants "
                    f"(num_layers, N, H) = {expected}: batch_first=True applies to the input and the output "
                    "only, never to h0/c0 or h_n/c_n")
        if got[0] == expected[0] and got[2] == expected[2]:
            return (f"nn.LSTM expects an initial state for {expected[1]} sequences, yours is made for {got[1]}: if "
                    f"x holds {got[1]} sequences, batch_first=True is missing, so that nn.LSTM reads the batch from "
                    f"dimension 1 of x; if it holds {expected[1]}, the zero state takes N from the wrong dimension "
                    "of x (with batch_first=True, N = x.shape[0])")
        if got[1:] == expected[1:]:
            return (f"nn.LSTM has {expected[0]} layer(s) but the initial state is made for {got[0]}: build it with "
                    "nn.LSTM(..., num_layers=num_layers, ...) and make the state (num_layers, N, H)")
        return f"the initial state has shape {got}, but nn.LSTM expects (num_layers, N, H) = {expected}"
    sizes = _LSTM_INPUT_SIZE.search(message)
    if sizes:
        return (f"the LSTM was built for inputs of {sizes[1]} features, but its inputs have {sizes[2]}: "
                "nn.LSTM(input_size, hidden_size, ...) takes the input size first (are the two swapped?)")
    uniform = _UNIFORM_RANGE.search(message)
    if uniform:
        return (f"nn.init.uniform_(tensor, a, b) draws from [a, b) and needs a <= b, but got a = {uniform[1]}, "
                f"b = {uniform[2]}: the lower limit is -1/sqrt(H) and the upper +1/sqrt(H)")
    if "log_softmax" in message and "not implemented for 'Long'" in message:
        return _LABELS_FIRST
    if "stack expects a non-empty TensorList" in message:
        return _EMPTY_STACK
    if "CUDA" in message or "cuda" in message or "NVIDIA" in message:
        return _DEVICE
    if "inplace" in message or "in-place" in message or "in place" in message:
        return _IN_PLACE
    if "tuple of ints" in message and "float" in message:
        return _FLOAT_SIZE
    if "dtype" in message or "scalar type" in message:
        return _DTYPE
    return None


def _mistake_in(exc: StudentCodeError) -> str | None:
    return _name_error(f"{exc.type_name}: {exc.message}")


naming_mistakes = checks.naming_mistakes(_mistake_in)


@contextmanager
def _one_thread() -> Iterator[None]:
    """Tiny tensors on one thread: log_softmax and its backward run in parallel regions whatever their size, and
    waking a second thread costs milliseconds per operation on a loaded machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


# ---------------------------------------------------------------------------------------------------
# Inputs and weights.

def _randn(seed: int, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64) * scale


def _cell_weights(seed: int) -> tuple[torch.Tensor, ...]:
    """weight_ih, weight_hh, bias_ih, bias_hh, scaled so that no gate saturates."""
    return (_randn(seed, 4 * H, D, scale=0.6), _randn(seed + 1, 4 * H, H, scale=0.6),
            _randn(seed + 2, 4 * H, scale=0.3), _randn(seed + 3, 4 * H, scale=0.3))


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a.double(), b.double(), rtol=1e-7, atol=1e-7))


def _returned(value: object, call: str) -> torch.Tensor:
    """What a student's function returned, as a tensor; a failure that names what came back instead."""
    if value is None:
        raise CheckFailed(f"{call} returned None: is its return statement missing?")
    return expect_tensor(value, call)


def _pair(value: object, call: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The (h_next, c_next) pair a cell returned, as tensors."""
    if value is None:
        raise CheckFailed(f"{call} returned None: is its return statement missing? It returns the pair "
                          "(h_next, c_next)")
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        got = f"a {type(value).__name__}" if not isinstance(value, (tuple, list)) else f"{len(value)} values"
        raise CheckFailed(f"{call}: expected a pair (h_next, c_next), got {got}")
    return expect_tensor(value[0], f"{call}[0] (h_next)"), expect_tensor(value[1], f"{call}[1] (c_next)")


# ---------------------------------------------------------------------------------------------------
# One LSTM step computed here, with the parts a mistake changes as arguments, and the known mistakes.

SIGMOID, TANH = torch.sigmoid, torch.tanh
Z = "z = x W_ih^T + b_ih + h W_hh^T + b_hh"


def _cell_variant(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh, *, terms=(1, 1, 1, 1), forget_shift=0.0,
                  activations=(SIGMOID, SIGMOID, TANH, SIGMOID),
                  new_c=lambda f, c, i, g: f * c + i * g,
                  new_h=lambda o, c_next, c: o * torch.tanh(c_next)) -> tuple[torch.Tensor, torch.Tensor]:
    z = (terms[0] * (x @ weight_ih.T) + terms[1] * bias_ih
         + terms[2] * (h @ weight_hh.T) + terms[3] * bias_hh)  # (N, 4H)
    z_i, z_f, z_g, z_o = z.chunk(4, dim=1)  # each (N, H)
    i, f, g, o = (act(block) for act, block in zip(activations, (z_i, z_f + forget_shift, z_g, z_o)))
    c_next = new_c(f, c, i, g)  # (N, H)
    return new_h(o, c_next, c), c_next


CELL_MISTAKES = {
    f"the input term x W_ih^T is subtracted: {Z}": {"terms": (-1, 1, 1, 1)},
    f"bias_ih is subtracted: {Z}": {"terms": (1, -1, 1, 1)},
    f"the recurrent term h W_hh^T is subtracted: {Z}": {"terms": (1, 1, -1, 1)},
    f"bias_hh is subtracted: {Z}": {"terms": (1, 1, 1, -1)},
    f"every pre-activation is negated, z = -(x W_ih^T + b_ih + h W_hh^T + b_hh); {Z}": {"terms": (-1, -1, -1, -1)},
    f"bias_ih is left out of z: {Z}": {"terms": (1, 0, 1, 1)},
    f"bias_hh is left out of z (nn.LSTMCell adds both biases): {Z}": {"terms": (1, 1, 1, 0)},
    f"the previous hidden state is left out of z (no h W_hh^T term): {Z}": {"terms": (1, 1, 0, 1)},
    "1 is added to the forget gate's pre-activation (a 'forget bias'); nn.LSTMCell adds no constant, f = "
    "sigmoid(z_f)": {"forget_shift": 1.0},
    "the candidate is squashed with sigmoid; it is g = tanh(z_g)": {"activations": (SIGMOID,) * 4},
    "the gates i, f, o use tanh; they are sigmoids, i = sigmoid(z_i), f = sigmoid(z_f), o = sigmoid(z_o)":
        {"activations": (TANH,) * 4},
    "sigmoid and tanh are swapped: the gates are i, f, o = sigmoid(...) and the candidate is g = tanh(z_g)":
        {"activations": (TANH, TANH, SIGMOID, TANH)},
    "the new content is subtracted: c_next = f * c + i * g, not f * c - i * g":
        {"new_c": lambda f, c, i, g: f * c - i * g},
    "the old cell state is divided: c_next = f * c + i * g, not f / c + i * g":
        {"new_c": lambda f, c, i, g: f / c + i * g},
    "the candidate is divided: c_next = f * c + i * g, not f * c + i / g":
        {"new_c": lambda f, c, i, g: f * c + i / g},
    "the forget gate is missing: c_next = f * c + i * g, not c + i * g": {"new_c": lambda f, c, i, g: c + i * g},
    "the input gate is missing: c_next = f * c + i * g, not f * c + g": {"new_c": lambda f, c, i, g: f * c + g},
    "h_next = o / tanh(c_next); it is o * tanh(c_next)": {"new_h": lambda o, c_next, c: o / torch.tanh(c_next)},
    "tanh is missing from h_next = o * tanh(c_next)": {"new_h": lambda o, c_next, c: o * c_next},
    "h_next = tanh(o * c_next); it is o * tanh(c_next)": {"new_h": lambda o, c_next, c: torch.tanh(o * c_next)},
    "h_next uses the previous cell state c; it is o * tanh(c_next), with the new one":
        {"new_h": lambda o, c_next, c: o * torch.tanh(c)},
}
SWAPPED_RETURN = "h_next and c_next are returned in the wrong order (return h_next, c_next)"


def _reordered(weights: tuple[torch.Tensor, ...], order: tuple[str, ...]) -> tuple[torch.Tensor, ...]:
    """Weights with their gate blocks rearranged so that code using (i, f, g, o) computes what code that
    unpacks the blocks in `order` computes with the original weights."""
    blocks = [order.index(gate) for gate in GATES]
    return tuple(torch.cat([w.chunk(4, dim=0)[k] for k in blocks]) for w in weights)


def _gate_order_mistakes(compute: Callable) -> dict[str, object]:
    """`compute(weights_transform)` for every wrong order of the four gate blocks."""
    return {f"the gate blocks are unpacked in the order ({', '.join(order)}); PyTorch stacks them as (i, f, g, o)":
            compute(lambda weights, order=order: _reordered(weights, order))
            for order in itertools.permutations(GATES) if order != GATES}


def _cell_mistakes(x, h, c, weights) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """{mistake: (h_next, c_next)} for one step on these inputs and weights."""
    with torch.no_grad():
        right = _cell_variant(x, h, c, *weights)
        table = {name: _cell_variant(x, h, c, *weights, **how) for name, how in CELL_MISTAKES.items()}
        table.update(_gate_order_mistakes(lambda t: _cell_variant(x, h, c, *t(weights))))
    table[SWAPPED_RETURN] = (right[1], right[0])
    return table


def _assert_cell(got: tuple[torch.Tensor, torch.Tensor], want: tuple[torch.Tensor, torch.Tensor], label: str,
                 mistakes: dict[str, tuple[torch.Tensor, torch.Tensor]]) -> None:
    assert_close(got[0], want[0], f"h_next of {label}", mistakes={k: v[0] for k, v in mistakes.items()})
    assert_close(got[1], want[1], f"c_next of {label}", mistakes={k: v[1] for k, v in mistakes.items()})


def _torch_lstm_cell(x, h, c, *weights) -> tuple[torch.Tensor, torch.Tensor]:
    """torch.nn.LSTMCell with the given weights: trusted, and needs nothing from the reference solution
    (public tests also run against the student bundle, whose reference notebook is only a stub)."""
    cell = torch.nn.LSTMCell(x.shape[1], h.shape[1]).double()
    parameters = dict(zip(CELL_PARAMETERS, weights))
    with torch.no_grad():
        return torch.func.functional_call(cell, parameters, (x, (h, c)))


def _own_cell_is_wrong(student, x, h, c, weights, got: tuple[torch.Tensor, torch.Tensor]) -> bool:
    """Whether `got` is what the student's own lstm_cell gives on these inputs, and that is wrong: then
    lstm_cell's own test takes the points for it."""
    try:
        own = _pair(student.lstm_cell(x, h, c, *weights), "lstm_cell")
    except (StudentCodeError, CheckFailed):
        return False
    right = _torch_lstm_cell(x, h, c, *weights)
    return all(_close(g, o) for g, o in zip(got, own)) and not all(_close(o, r) for o, r in zip(own, right))


# ---------------------------------------------------------------------------------------------------
# Part 1: one step, as a function.

@pytest.mark.points(12)
@naming_mistakes
def test_lstm_cell_function(student, reference):
    weights = _cell_weights(20)
    x, h, c = _randn(24, N, D), _randn(25, N, H), _randn(26, N, H)
    got = _pair(student.lstm_cell(x, h, c, *weights), "lstm_cell(x, h, c, ...)")
    _assert_cell(got, reference.lstm_cell(x, h, c, *weights), "lstm_cell", _cell_mistakes(x, h, c, weights))


# ---------------------------------------------------------------------------------------------------
# Part 2: the cell as a module.

def _load_cell(state: dict[str, torch.Tensor], module: torch.nn.Module) -> None:
    """By name when the names are nn.LSTMCell's, else by order."""
    if set(state) == set(CELL_PARAMETERS):
        state = {k: state[k] for k in CELL_PARAMETERS}
    copy_parameters(state, module, "LSTMCell")


@pytest.mark.public
@pytest.mark.points(4)
@naming_mistakes
def test_cell_parameters(student):
    state = state_dict_of(student.LSTMCell(D, H), "LSTMCell")
    missing = [k for k in CELL_PARAMETERS if k not in state]
    if missing:
        raise CheckFailed(f"LSTMCell({D}, {H}) has no parameter named {', '.join(missing)}: like nn.LSTMCell it "
                          f"needs weight_ih, weight_hh, bias_ih and bias_hh (it has {sorted(state)})")
    count = sum(t.numel() for t in state.values())
    expected_count = 4 * (H * (D + H) + 2 * H)
    wrong = [f"{name} is created with shape {tuple(state[name].shape)}, not {CELL_SHAPES[name]} = {shape}"
             for name, shape in CELL_PARAMETERS.items() if state[name].numel() != math.prod(shape)]
    if count != expected_count:
        where = f". Likely mistake: {'; '.join(wrong)} (four gate blocks of H rows)" if wrong else ""
        raise CheckFailed(f"LSTMCell({D}, {H}) has {count} parameters; expected 4·(H(D+H)+2H) = {expected_count}"
                          + where)
    for name, shape in CELL_PARAMETERS.items():
        assert_shape(state[name], shape, f"LSTMCell({D}, {H}).{name} (four gate blocks of H rows)")


@pytest.mark.public
@pytest.mark.points(2)
@naming_mistakes
def test_cell_initialisation(student):
    state = state_dict_of(student.LSTMCell(D, H), "LSTMCell")
    bound = 1 / math.sqrt(H)
    for name in CELL_PARAMETERS:
        if name not in state:
            raise CheckFailed(f"LSTMCell({D}, {H}) has no parameter named {name} (test_cell_parameters says more)")
        values = state[name].double()
        if values.abs().max() > bound + 1e-6 or values.std() < bound / 5:
            raise CheckFailed(f"LSTMCell({D}, {H}).{name} should be initialised uniformly in "
                              f"[-1/sqrt(H), 1/sqrt(H)] = [-{bound:.3g}, {bound:.3g}]; its values range from "
                              f"{values.min().item():.3g} to {values.max().item():.3g}")


@pytest.mark.public
@pytest.mark.points(3)
@naming_mistakes
def test_cell_zero_state(student):
    cell = student.LSTMCell(D, H)
    cell.double()
    x, zeros = _randn(13, N, D), torch.zeros(N, H, dtype=F64)
    explicit = _pair(cell(x, (zeros, zeros)), f"LSTMCell({D}, {H})(x, (zeros, zeros))")
    try:
        implicit = _pair(cell(x), f"LSTMCell({D}, {H})(x)")
    except StudentCodeError as exc:
        mistake = _mistake_in(exc)
        raised = (f"Likely mistake: {mistake}\n" if mistake else "") + f"Your code raised {exc}"
        raise CheckFailed("LSTMCell(x) without a state raised an error, while LSTMCell(x, (zeros, zeros)) works: the "
                          "zero state made when state is None is wrong. Make it h = c = x.new_zeros(N, H), one row "
                          f"per sequence of x, with x's dtype and device.\n{raised}") from None
    for k, name in enumerate(("h_next", "c_next")):
        assert_shape(implicit[k], (N, H), f"{name} of LSTMCell({D}, {H})(x) for x of shape {(N, D)}")
        if not _close(implicit[k], explicit[k]):
            raise CheckFailed(f"{name} of LSTMCell(x) differs from {name} of LSTMCell(x, (zeros, zeros)): with no "
                              "state given, the state must be zero, h = c = x.new_zeros(N, H)")


@pytest.mark.public
@pytest.mark.points(6)
@naming_mistakes
def test_cell_matches_torch_lstm_cell(student):
    cell = student.LSTMCell(D, H)
    cell.double()
    torch_cell = torch.nn.LSTMCell(D, H).double()
    _load_cell(state_dict_of(cell, "LSTMCell"), torch_cell)
    weights = tuple(getattr(torch_cell, name).detach() for name in CELL_PARAMETERS)
    x, h, c = _randn(10, N, D), _randn(11, N, H), _randn(12, N, H)
    got = _pair(cell(x, (h, c)), "LSTMCell(x, (h, c))")
    with torch.no_grad():
        want = torch_cell(x, (h, c))
    mistakes = _cell_mistakes(x, h, c, weights)
    mistakes["the state pair is unpacked as (c, h); it is (h, c), as in nn.LSTMCell"] = _cell_variant(x, c, h, *weights)
    try:
        _assert_cell(got, want, "LSTMCell(x, (h, c)) vs nn.LSTMCell", mistakes)
    except CheckFailed:
        if not _own_cell_is_wrong(student, x, h, c, weights, got):
            raise


# ---------------------------------------------------------------------------------------------------
# Part 3: the layer, unrolled over time, and its gradients.

def _layer_inputs(seed: int) -> tuple[torch.Tensor, ...]:
    return (_randn(seed, N, L, D), _randn(seed + 1, N, H, scale=0.5), _randn(seed + 2, N, H, scale=0.5),
            *_cell_weights(seed + 3))


def _layer_variant(cell, x, h0, c0, *weights, carry_h=True, carry_c=True, detach=False, output="after"):
    """`cell` unrolled over the sequence with one of the usual mistakes switched on."""
    h, c, outputs = h0, c0, []
    for t in range(x.shape[1]):
        h_in = h if carry_h else h0
        c_in = c if carry_c else c0
        if detach:
            h_in, c_in = h_in.detach(), c_in.detach()
        h_before = h_in
        h, c = cell(x[:, t], h_in, c_in, *weights)
        outputs.append({"after": h, "c": c, "before": h_before, "h0": h0}[output])
    return torch.stack(outputs, dim=1)


def _layer_mistakes(reference, inputs) -> dict[str, torch.Tensor]:
    cell = reference.lstm_cell
    return {
        "the state is not carried from one step to the next (every step starts again from h0, c0)":
            _layer_variant(cell, *inputs, carry_h=False, carry_c=False),
        "only h is carried from step to step; the cell state restarts from c0 at every step":
            _layer_variant(cell, *inputs, carry_c=False),
        "only c is carried from step to step; the hidden state restarts from h0 at every step":
            _layer_variant(cell, *inputs, carry_h=False),
        "the output holds the cell states c_t instead of the hidden states h_t":
            _layer_variant(cell, *inputs, output="c"),
        "every output is h0: the hidden state is never updated with what the cell returns (h, c = lstm_cell(...))":
            _layer_variant(cell, *inputs, output="h0"),
        "the output holds the state before each step, [h_0, ..., h_{L-1}], instead of after it, [h_1, ..., h_L]":
            _layer_variant(cell, *inputs, output="before"),
        **_gate_order_mistakes(lambda t: reference.lstm_layer(*inputs[:3], *t(inputs[3:]))),
    }


def _check_layer_shape(output: object) -> torch.Tensor:
    got = _returned(output, "lstm_layer(x, h0, c0, ...)")
    shape = tuple(got.shape)
    if shape == (L, N, H):
        raise CheckFailed(f"lstm_layer: expected shape {(N, L, H)}, got {(L, N, H)}. Likely mistake: the hidden "
                          "states are stacked time first (dim=0); stack them batch first, torch.stack(..., dim=1)")
    for size, what in ((D, "x.shape[2] = D, the input features"), (N, "x.shape[0] = N, the sequences of the batch")):
        if shape == (N, size, H):
            raise CheckFailed(f"lstm_layer: expected shape {(N, L, H)}, got {shape}. Likely mistake: the loop runs "
                              f"over {what}, not over the {L} time steps x.shape[1] (x is batch first, (N, L, D))")
    return assert_shape(got, (N, L, H), "lstm_layer(x, h0, c0, ...)")


def _unrolled_own_cell(student, inputs) -> torch.Tensor | None:
    """The student's own lstm_cell run over the sequence here, step by step; None if it cannot be."""
    x, h, c, *weights = inputs
    outputs = []
    try:
        for t in range(L):
            h, c = _pair(student.lstm_cell(x[:, t], h, c, *weights), "lstm_cell")
            outputs.append(h)
    except (StudentCodeError, CheckFailed):
        return None
    return torch.stack(outputs, dim=1) if all(o.shape == (N, H) for o in outputs) else None


def _torch_layer(inputs) -> torch.Tensor:
    return _layer_variant(_torch_lstm_cell, *inputs)


@pytest.mark.points(10)
@naming_mistakes
def test_lstm_layer_matches_reference(student, reference):
    inputs = _layer_inputs(30)
    got = _check_layer_shape(student.lstm_layer(*inputs))
    try:
        assert_close(got, reference.lstm_layer(*inputs), "lstm_layer(x, h0, c0, ...)",
                     mistakes=_layer_mistakes(reference, inputs))
    except CheckFailed:
        own = _unrolled_own_cell(student, inputs)
        if own is None or not _close(got, own) or _close(own, _torch_layer(inputs)):
            raise  # else lstm_layer is right and lstm_cell is wrong: test_lstm_cell_function takes the points


def _reference_grads(fn, inputs: tuple[torch.Tensor, ...], grad_output: torch.Tensor) -> list[torch.Tensor]:
    leaves = [t.detach().clone().requires_grad_(True) for t in inputs]
    fn(*leaves).backward(grad_output)
    return [t.grad for t in leaves]


def _check_own_slopes(student, inputs, grad_output, grads) -> None:
    """Gradients of a forward pass that differs from the reference's, against its own finite differences along
    a random direction per argument: gradients must be those of the function the student computes."""
    eps = 1e-6
    for k, (name, grad) in enumerate(zip(LAYER_ARGUMENTS, grads)):
        direction = _randn(60 + k, *inputs[k].shape)
        shifted = [[*inputs[:k], inputs[k] + sign * eps * direction, *inputs[k + 1:]] for sign in (1, -1)]
        plus, minus = (_check_layer_shape(student.lstm_layer(*args)) for args in shifted)
        slope = float(((plus - minus) * grad_output).sum()) / (2 * eps)
        autograd = float((grad * direction).sum())
        if abs(slope - autograd) > 1e-5 * max(1.0, abs(slope), abs(autograd)):
            raise CheckFailed(f"the gradient of lstm_layer with respect to {name} disagrees with the slope of your own "
                              f"lstm_layer (along a random direction: autograd {autograd:.6g}, finite differences "
                              f"{slope:.6g}): the computation is cut where autograd cannot follow it (.detach(), "
                              ".data, an in-place change, or a tensor rebuilt from values)")


@pytest.mark.points(10)
@naming_mistakes
def test_lstm_layer_gradients(student, reference):
    inputs = _layer_inputs(40)
    grad_output = _randn(47, N, L, H)
    _check_layer_shape(student.lstm_layer(*inputs))
    result = vjp(student.lstm_layer, *inputs, grad_output=grad_output, wrt=tuple(range(len(inputs))))
    grads = [None if got is None else assert_shape(got, tuple(value.shape), f"gradient with respect to {name}")
             for name, got, value in zip(LAYER_ARGUMENTS, result.input_grads, inputs)]
    if not _close(_check_layer_shape(result.output), reference.lstm_layer(*inputs)):
        # The values' test takes the points for the values; the gradients must be those of what is computed.
        _check_own_slopes(student, inputs, grad_output,
                          [torch.zeros_like(x) if g is None else g for g, x in zip(grads, inputs)])
        return
    for name, got in zip(LAYER_ARGUMENTS, grads):
        if got is None:
            raise CheckFailed(f"no gradient reached {name}: the output is cut off from it (.detach(), .data, "
                              ".item(), numpy or a new tensor built from its values)")
    want = _reference_grads(reference.lstm_layer, inputs, grad_output)
    detached = _reference_grads(lambda *a: _layer_variant(reference.lstm_cell, *a, detach=True), inputs, grad_output)
    for name, got, expected, wrong in zip(LAYER_ARGUMENTS, grads, want, detached):
        assert_close(got, expected, f"gradient of lstm_layer's output with respect to {name}",
                     mistakes={"the state is detached between time steps, so gradients do not flow back "
                               "through time": wrong})


@pytest.mark.points(3)
@naming_mistakes
def test_lstm_layer_reaches_back_in_time(student):
    inputs = _layer_inputs(50)
    grad_output = torch.zeros(N, L, H, dtype=F64)
    grad_output[:, -1] = 1.0  # only the last output
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

class _DigitReader(torch.nn.Module):
    """The classifier the notebook describes, built here from torch.nn: it scores held-out digits with the
    weights a submission trained, so that no function of the submission's says how accurate they are."""

    def __init__(self, input_size: int, hidden_size: int, num_classes: int, num_layers: int = 1) -> None:
        super().__init__()
        self.lstm = torch.nn.LSTM(input_size, hidden_size, num_layers=num_layers, batch_first=True)
        self.head = torch.nn.Linear(hidden_size, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)  # (N, L, H); the zero initial state by default
        return self.head(out[:, -1])  # (N, C)


_LSTM_KEY = re.compile(r"(weight|bias)_(ih|hh)_l\d+$")


def _load_digit_lstm(state: dict[str, torch.Tensor], module: torch.nn.Module) -> None:
    """The nn.LSTM's tensors first, then the head's, whichever order the submission declared them in."""
    lstm = [k for k in state if _LSTM_KEY.search(k)]
    rest = [k for k in state if k not in lstm]
    copy_parameters({k: state[k] for k in lstm + rest}, module, "DigitLSTM")


def _check_scores_shape(scores: object, n: int, length: int, name: str, classes: int = C) -> torch.Tensor:
    if scores is None:
        raise CheckFailed(f"{name}: DigitLSTM's forward returned None: is its return statement missing?")
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


@pytest.mark.public
@pytest.mark.points(4)
@naming_mistakes
def test_digit_lstm_output_shape(student):
    for layers, n, length in ((LAYERS, N, L), (1, N + 4, L - 3)):
        model = _digit_model(student, layers, double=False)
        x = _randn(60 + layers, n, length, D).float()
        _check_scores_shape(model(x), n, length, f"DigitLSTM({D}, {H}, {C}, num_layers={layers}) scores "
                                                 f"for x of shape {(n, length, D)}")


@pytest.mark.public
@pytest.mark.points(4)
@naming_mistakes
def test_digit_lstm_parameter_count(student):
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


def _time_step_mistakes(head, out: torch.Tensor) -> dict[str, torch.Tensor]:
    """The scores from every time step but the last."""
    mistakes = {"the scores come from the first time step, out[:, 0]; the last time step is out[:, -1]":
                head(out[:, 0])}
    for t in range(1, L - 1):
        mistakes[f"the scores come from time step {t} of 0..{L - 1}, out[:, {t}] (out[:, {t - L}]); the last time "
                 "step is out[:, -1]"] = head(out[:, t])
    return mistakes


@pytest.mark.points(10)
@naming_mistakes
def test_digit_lstm_matches_reference(student, reference):
    x = _randn(70, N, L, D)
    model = _digit_model(student)
    ref = reference.DigitLSTM(D, H, C, LAYERS).double()
    _load_digit_lstm(state_dict_of(model, "DigitLSTM"), ref)
    got = _check_scores_shape(model(x), N, L, "DigitLSTM scores")
    with torch.no_grad():
        zeros = torch.zeros(LAYERS, N, H, dtype=F64)
        out, (h_n, c_n) = ref.lstm(x, (zeros, zeros))  # (N, L, H), (LAYERS, N, H) each
        time_major = torch.zeros(LAYERS, L, H, dtype=F64)
        out_time_major, _ = ref.lstm(x.transpose(0, 1), (time_major, time_major))  # dim 0 of x read as time
        want = ref(x)
        mistakes = {
            **_time_step_mistakes(ref.head, out),
            "the scores come from the average over time steps instead of the last time step out[:, -1]":
                ref.head(out.mean(dim=1)),
            "the scores come from h_n[0], the final state of the first layer; the last layer's is h_n[-1]":
                ref.head(h_n[0]),
            "the scores come from the final cell state c_n[-1]; classify from the hidden state h_n[-1] = out[:, -1]":
                ref.head(c_n[-1]),
            "batch_first=True is missing: nn.LSTM reads dimension 0 of x as time and mixes the sequences":
                ref.head(out_time_major[-1]),
            "forward returns probabilities, softmax(scores); return the scores themselves (F.cross_entropy "
            "applies the softmax)": torch.softmax(want, dim=1),
            "forward returns log_softmax(scores); return the scores themselves, s = h_L W^T + b":
                torch.log_softmax(want, dim=1),
        }
    assert_close(got, want, "DigitLSTM scores on the reference's copied weights", mistakes=mistakes)


@pytest.mark.points(3)
@naming_mistakes
def test_digit_lstm_every_row_matters(student):
    x = _randn(80, N, L, D)
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
                          "from the hidden state after the last time step, out[:, -1]")
    if per_step[0] == 0:
        raise CheckFailed("the scores do not depend on the first row x[:, 0] (zero gradient): the LSTM must "
                          "read the whole sequence and carry its state from the first row to the last")


@pytest.mark.points(3)
@naming_mistakes
def test_digit_lstm_batch_independence(student):
    x = _randn(90, N, L, D)
    order = torch.tensor([3, 0, 4, 2, 1])
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


# ---------------------------------------------------------------------------------------------------
# Part 5: train and predict, on a small model built in the worker from torch.nn with weights sent from here, so
# that a mistake in DigitLSTM costs points only in DigitLSTM's tests.

def _torch_classifier(nn, dropout: float = 0.0):
    """Flatten -> Dropout -> Linear(L*D, C): a classifier of (N, L, D) sequences, from the given torch.nn."""
    return nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(L * D, C)).double()


def _classifier(seed: int, dropout: float = 0.0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return _torch_classifier(torch.nn, dropout)


def _worker_classifier(student, ours: torch.nn.Module, dropout: float = 0.0):
    model = _torch_classifier(student.torch.nn, dropout)
    model.load_state_dict({k: v.clone() for k, v in ours.state_dict().items()})
    return model


def _repeated_sample() -> tuple[torch.Tensor, torch.Tensor]:
    return _randn(3, 1, L, D).repeat(TRAIN_SAMPLES, 1, 1), torch.full((TRAIN_SAMPLES,), 4)  # (12, L, D), (12,)


@_one_thread()
def _replay(ours, X, y, *, lr=TRAIN_LR, batch_size=TRAIN_BATCH, epochs=TRAIN_EPOCHS, adam=True,
            accumulate=False) -> tuple[list[torch.Tensor], list[list[float]]]:
    """train's loop replayed on a copy of `ours` over the repeated sample: the parameters after it, and the loss of
    every batch of every epoch. Adam's update is written out as torch.optim.Adam computes it (its defaults: betas
    0.9 and 0.999, eps 1e-8), so that grading never pays for importing what torch.optim's first step imports."""
    model = copy.deepcopy(ours)
    params = list(model.parameters())
    moments = [(torch.zeros_like(p), torch.zeros_like(p)) for p in params]
    grads = [torch.zeros_like(p) for p in params]
    losses = []
    for _ in range(epochs):
        epoch = []
        for start in range(0, len(X), batch_size):
            loss = F.cross_entropy(model(X[start:start + batch_size]), y[start:start + batch_size])
            new = torch.autograd.grad(loss, params)
            grads = [g + n for g, n in zip(grads, new)] if accumulate else list(new)
            step = sum(len(e) for e in losses) + len(epoch) + 1
            with torch.no_grad():
                for p, g, (m, v) in zip(params, grads, moments):
                    if not adam:
                        p.sub_(lr * g)
                        continue
                    m.mul_(0.9).add_(g, alpha=0.1)
                    v.mul_(0.999).addcmul_(g, g, value=0.001)
                    denominator = v.sqrt() / math.sqrt(1 - 0.999 ** step) + 1e-8
                    p.addcdiv_(m, denominator, value=-lr / (1 - 0.9 ** step))
            epoch.append(loss.item())
        losses.append(epoch)
    return [p.detach().clone() for p in params], losses


def _training_mistakes(ours, X, y) -> dict[str, tuple[list[torch.Tensor], list[list[float]]]]:
    return {
        "Adam runs with its default learning rate 0.001: pass lr=lr": _replay(ours, X, y, lr=1e-3),
        "the learning rate is fixed at train's default, 0.02: pass lr=lr to Adam": _replay(ours, X, y, lr=2e-2),
        f"batch_size is ignored: every epoch ran as one batch of all {TRAIN_SAMPLES} samples":
            _replay(ours, X, y, batch_size=TRAIN_SAMPLES),
        f"epochs is ignored: the model trained for train's default of 10 epochs, not {TRAIN_EPOCHS}":
            _replay(ours, X, y, epochs=10),
        "gradients accumulate across steps: call optimizer.zero_grad() before loss.backward()":
            _replay(ours, X, y, accumulate=True),
        "the parameters moved as plain SGD moves them; train uses torch.optim.Adam":
            _replay(ours, X, y, adam=False),
    }


def _nan_losses(losses: object) -> CheckFailed | None:
    """A failure naming empty batches when train returned NaN epoch losses, else None."""
    if not isinstance(losses, (list, tuple)) or not any(isinstance(v, float) and math.isnan(v) for v in losses):
        return None
    return CheckFailed(f"train returned NaN epoch losses ({losses}): the mean loss of an empty batch is NaN (0/0), "
                       "and the epoch's running total with it. Does every slice order[start:start + batch_size] "
                       "hold samples?")


def _train(student, model, X, y, **kwargs):
    return student.train(model, X, y, epochs=TRAIN_EPOCHS, lr=TRAIN_LR, batch_size=TRAIN_BATCH, seed=TRAIN_SEED,
                         **kwargs)


@pytest.mark.points(5)
@naming_mistakes
def test_train_updates_like_adam(student):
    X, y = _repeated_sample()
    ours = _classifier(3)
    start = [p.detach().clone() for p in ours.parameters()]
    model = _worker_classifier(student, ours)
    losses = _train(student, model, X, y)
    after = list(state_dict_of(model, "model").values())
    if all(torch.equal(a, s) for a, s in zip(after, start)):
        raise _nan_losses(losses) or CheckFailed("train left the model's parameters unchanged: for every batch, "
                                                 "call loss.backward() and then optimizer.step()")
    right = _replay(ours, X, y)[0]
    mistakes = _training_mistakes(ours, X, y)
    try:
        for i, (got, want) in enumerate(zip(after, right)):
            assert_close(got, want, f"parameter {i} after train(..., epochs={TRAIN_EPOCHS}, lr={TRAIN_LR}, "
                         f"batch_size={TRAIN_BATCH}) with Adam", rtol=1e-6, atol=1e-9,
                         mistakes={name: params[i] for name, (params, _) in mistakes.items()})
    except CheckFailed as failure:
        raise _nan_losses(losses) or failure from None


def _epoch_means(losses: list[list[float]], sizes: list[int]) -> list[float]:
    return [sum(loss * size for loss, size in zip(epoch, sizes)) / sum(sizes) for epoch in losses]


def _bookkeeping_mistakes(losses: list[list[float]]) -> dict[str, torch.Tensor]:
    """Wrong ways of turning the batches' losses into each epoch's loss."""
    means = _epoch_means(losses, [TRAIN_BATCH] * (TRAIN_SAMPLES // TRAIN_BATCH))
    from_one = [len(range(TRAIN_SAMPLES)[s:s + TRAIN_BATCH]) for s in range(1, TRAIN_SAMPLES, TRAIN_BATCH)]
    return {name: torch.tensor(values, dtype=F64) for name, values in {
        "each epoch's loss is the sum of its batch losses, not their mean": [sum(epoch) for epoch in losses],
        "each epoch's loss is its last batch's, not the mean over the epoch": [epoch[-1] for epoch in losses],
        "the running total is not reset at the start of each epoch": list(itertools.accumulate(means)),
        "the batches start at sample 1 (range(1, N, batch_size)), so one sample of every epoch is never used: "
        "start at 0": [sum(loss * size for loss, size in zip(epoch, from_one)) / TRAIN_SAMPLES for epoch in losses],
    }.items()}


def _returned_losses(value: object) -> torch.Tensor:
    if value is None:
        raise CheckFailed("train returned None: return the list of each epoch's mean loss")
    if isinstance(value, RemoteObject) or not isinstance(value, (list, tuple)):
        kind = value.remote_type if isinstance(value, RemoteObject) else type(value).__name__
        raise CheckFailed(f"train must return a list of numbers, one per epoch (got {kind})")
    if len(value) != TRAIN_EPOCHS:
        raise CheckFailed(f"train(..., epochs={TRAIN_EPOCHS}) returned {len(value)} losses: append each epoch's "
                          "mean loss once, at the end of the epoch")
    try:
        return torch.tensor([float(loss) for loss in value], dtype=F64)
    except (TypeError, ValueError):
        raise CheckFailed(f"train must return a list of numbers, one per epoch (got {str(value)[:80]})") from None


@pytest.mark.points(3)
@naming_mistakes
def test_train_returns_the_mean_loss_of_each_epoch(student):
    X, y = _repeated_sample()
    ours = _classifier(5)
    model = _worker_classifier(student, ours)
    returned = _train(student, model, X, y)
    nan = _nan_losses(returned)
    if nan:
        raise nan
    got = _returned_losses(returned)
    after = list(state_dict_of(model, "model").values())
    # The losses of the run that trained the model as it did (a training mistake costs points in its own test).
    runs = {None: _replay(ours, X, y), **_training_mistakes(ours, X, y)}
    batch_losses = next((run[1] for run in runs.values() if len(run[0]) == len(after)
                         and all(_close(a, p) for a, p in zip(after, run[0]))), runs[None][1])
    want = torch.tensor(_epoch_means(batch_losses, [TRAIN_BATCH] * (TRAIN_SAMPLES // TRAIN_BATCH)), dtype=F64)
    if torch.equal(got, torch.zeros_like(got)):
        raise CheckFailed("every epoch's loss train returned is 0: add each batch's loss (loss.item() times the "
                          "batch's size) to the epoch's running total")
    offset = got - want
    if not _close(got, want) and torch.allclose(offset, offset[0].expand_as(offset), rtol=1e-6, atol=1e-9):
        raise CheckFailed(f"every epoch's loss train returned is off by the same amount, {float(offset[0]):.6g}: "
                          "does the running total start from 0 at each epoch?")
    assert_close(got, want, f"the epoch losses train returns ({TRAIN_SAMPLES} samples in batches of {TRAIN_BATCH})",
                 rtol=1e-6, atol=1e-9, mistakes=_bookkeeping_mistakes(batch_losses))


@pytest.mark.points(2)
@naming_mistakes
def test_train_shuffles_with_its_seeded_generator(student):
    X, y = _randn(4, TRAIN_SAMPLES, L, D), torch.arange(TRAIN_SAMPLES) % C
    ours = _classifier(4)

    def trained(seed: int, global_seed: int) -> list[torch.Tensor]:
        manual_seed(student, global_seed)  # the global random state differs between calls
        model = _worker_classifier(student, ours)
        student.train(model, X, y, epochs=2, lr=TRAIN_LR, batch_size=TRAIN_BATCH, seed=seed)
        return list(state_dict_of(model, "model").values())

    first, again, other = trained(5, 0), trained(5, 1), trained(6, 0)
    if not all(torch.equal(a, b) for a, b in zip(first, again)):
        raise CheckFailed("train with the same seed gave different results once the global random state had "
                          "moved on: shuffle with torch.Generator().manual_seed(seed) (generator=...), not the "
                          "global random state")
    if all(torch.equal(a, b) for a, b in zip(first, other)):
        raise CheckFailed("train gave the same result for seeds 5 and 6: shuffle every epoch, with a "
                          "torch.Generator seeded with seed")


@pytest.mark.points(2)
@naming_mistakes
def test_train_switches_to_training_mode(student):
    X, y = _repeated_sample()
    model = _worker_classifier(student, _classifier(6, dropout=0.5), dropout=0.5)
    model.eval()  # as predict leaves it
    _train(student, model, X, y)
    if model.training is not True or model[1].training is not True:
        raise CheckFailed("train left a model in evaluation mode (dropout off) after predict had put it there: "
                          "call model.train() before the first epoch")


@pytest.mark.points(4)
@naming_mistakes
def test_predict(student):
    ours = _classifier(8, dropout=0.5)
    model = _worker_classifier(student, ours, dropout=0.5)  # in training mode, as train leaves it
    X = _randn(9, 40, L, D)
    call = observe(student.predict, model, X)
    first = _returned(call.output, "predict(model, X)")
    if tuple(first.shape) == (C,):
        raise CheckFailed(f"predict(model, X) has one value per class, shape ({C},). Likely mistake: the argmax "
                          "is taken over the batch, dim=0; take it over the classes, dim=1, for one label per "
                          "sequence")
    if tuple(first.shape) == (40, C):
        raise CheckFailed(f"predict(model, X) returned the scores of every class, shape (40, {C}): return the "
                          "class with the highest score, scores.argmax(dim=1)")
    assert_shape(first, (40,), "predict(model, X)")
    second = expect_tensor(student.predict(model, X), "predict(model, X), called again")
    if not torch.equal(first, second):
        raise CheckFailed("predict gives different answers for the same input: dropout is still active. Call "
                          "model.eval() before predicting")
    if first.is_floating_point() or first.min() < 0 or first.max() >= C:
        raise CheckFailed(f"predict(model, X) must return class indices 0..{C - 1} as integers, got values from "
                          f"{float(first.min()):g} to {float(first.max()):g}: the argmax of the scores")
    if first.dtype != torch.int64:
        raise CheckFailed(f"predict(model, X) returned {first.dtype} labels; return int64 class indices, as "
                          "argmax gives them")
    with torch.no_grad():
        want = ours.eval()(X).argmax(dim=1)  # (40,)
    assert_close(first, want, "predicted labels (in evaluation mode)")
    if call.recorded_graph:
        raise CheckFailed("predict built an autograd graph while it ran: it needs no gradients, so run the model "
                          "under torch.no_grad() (the @torch.no_grad() decorator above predict does it)")


@pytest.mark.public
@pytest.mark.points(10)
@naming_mistakes
def test_digit_lstm_learns_digits(student):
    X_train, y_train, X_test, y_test = digits_split()
    X_train, X_test = X_train.reshape(-1, 8, 8), X_test.reshape(-1, 8, 8)  # (N, rows, pixels)
    model = student.DigitLSTM(8, DIGITS_HIDDEN, 10)
    _check_scores_shape(model(X_test[:5]), 5, 8, "DigitLSTM scores for 5 digits", classes=10)
    student.train(model, X_train, y_train, epochs=DIGITS_EPOCHS, lr=DIGITS_LR, batch_size=DIGITS_BATCH, seed=0)
    ours = _DigitReader(8, DIGITS_HIDDEN, 10)
    _load_digit_lstm(state_dict_of(model, "DigitLSTM"), ours)
    with torch.no_grad(), _one_thread():
        held_out = accuracy(ours.eval()(X_test), y_test, "scores of the held-out digits")
    assert_at_least(held_out, DIGITS_THRESHOLD,
                    f"held-out accuracy of the weights train(model, X, y, epochs={DIGITS_EPOCHS}, lr={DIGITS_LR}, "
                    f"batch_size={DIGITS_BATCH}) gave DigitLSTM, scored here with out[:, -1] of their nn.LSTM")
