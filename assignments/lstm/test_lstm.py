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
import itertools
import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
import pytest
import torch
from autograder import checks
from autograder.checks import (CheckFailed, accuracy, assert_at_least, assert_close, assert_shape,
                               copy_parameters, expect_tensor, state_dict_of)
from autograder.datasets import digits_split
from autograder.errors import StudentCodeError
N, L, D, H, C, LAYERS = 5, 7, 3, 8, 6, 2
F64 = torch.float64
GATES = ("i", "f", "g", "o")
CELL_PARAMETERS = {"weight_ih": (4 * H, D), "weight_hh": (4 * H, H), "bias_ih": (4 * H,), "bias_hh": (4 * H,)}
CELL_SHAPES = {"weight_ih": "(4H, D)", "weight_hh": "(4H, H)", "bias_ih": "(4H,)", "bias_hh": "(4H,)"}
DIGITS_HIDDEN, DIGITS_EPOCHS, DIGITS_LR, DIGITS_BATCH, DIGITS_THRESHOLD = 48, 10, 2e-2, 32, 0.93
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


def _randn(seed: int, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64) * scale


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a.double(), b.double(), rtol=1e-7, atol=1e-7))


def _pair(value: object, call: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The (h_next, c_next) pair a cell returned, as tensors."""
    if value is None:
        raise CheckFailed(f"{call} returned None: is its return statement missing? It returns the pair "
                          "(h_next, c_next)")
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        got = f"a {type(value).__name__}" if not isinstance(value, (tuple, list)) else f"{len(value)} values"
        raise CheckFailed(f"{call}: expected a pair (h_next, c_next), got {got}")
    return expect_tensor(value[0], f"{call}[0] (h_next)"), expect_tensor(value[1], f"{call}[1] (c_next)")


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
