"""`remote.observe`: what a contract says about a call beyond its result, learnt from a real worker (which
arguments it wrote to, whether its result tracks gradients, whether it built a graph, which torch functions
it called), and an answer the grader cannot be made to misread."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from autograder.worker.client import Budget, Limits, WorkerClient
from autograder.remote import Observed, RemoteObject, observe
from autograder.worker.wire import Handle

CODE = '''
import numpy as np
import torch


def step_new(w, b, dw, db, lr):
    return w - lr * dw, b - lr * db


def step_in_place(w, b, dw, db, lr):
    w -= lr * dw
    return w, b - lr * db


def step_in_place_then_undone(w, b, dw, db, lr):
    w.mul_(2).div_(2)          # written to, same values: nothing changed
    return w - lr * dw, b - lr * db


def zero_the_nested(batch, *, scale):
    batch["inputs"][1].zero_()
    scale[0] = 3.0             # a numpy array, written through
    return batch["inputs"][0] * 2


def nan_stays_nan(x):
    return x + 1


model = torch.nn.Linear(3, 2)


def predict_with_graph(X):
    return model(X)


def predict_detached(X):
    return model(X).detach()


def predict_no_grad(X):
    with torch.no_grad():
        return model(X).argmax(dim=1)


def predict_argmax_with_graph(X):
    return model(X).argmax(dim=1)


def pair_with_graph(X):
    return {"labels": model(X).argmax(dim=1), "scores": [model(X).detach(), model(X)]}


import torch.nn.functional as F


def convolve_with_torch(x, w):
    return F.conv2d(x, w)


def convolve_by_hand(x, w):
    patches = F.unfold(x, w.shape[-1])                            # (N, C*k*k, L)
    out = w.flatten(1) @ patches                                   # (N, C_out, L)
    side = x.shape[-1] - w.shape[-1] + 1
    return out.view(x.shape[0], w.shape[0], side, side)


def relu_by_module(z):
    return torch.nn.ReLU()(z)


def many_calls(x):
    for k in range(400):
        x = getattr(torch, ("sin", "cos")[k % 2])(x) if k < 2 else x.add(k)
    return x
'''


@pytest.fixture(scope="module")
def student():
    client = WorkerClient(Limits(cell_seconds=20, request_seconds=20), Budget(300))
    assert client.run_cell("cell 1", CODE) is None
    yield client.namespace()
    client.cleanup()


def _step_args():
    w, dw = torch.arange(1.0, 5.0), torch.ones(4)
    return w, torch.tensor(0.5), dw, torch.tensor(2.0), 0.1


def test_a_function_returning_new_tensors_changes_nothing(student):
    w, b, dw, db, lr = _step_args()
    observed = observe(student.step_new, w, b, dw, db, lr)
    assert observed.changed == [] and observed.tracks_grad == [] and not observed.recorded_graph
    torch.testing.assert_close(observed.output[0], w - lr * dw)
    assert torch.equal(w, torch.arange(1.0, 5.0))  # the grader's own copy is never touched


def test_an_argument_written_in_place_is_named_by_its_position(student):
    observed = observe(student.step_in_place, *_step_args())
    assert observed.changed == ["argument 1"]


def test_writing_the_same_values_back_is_not_a_change(student):
    assert observe(student.step_in_place_then_undone, *_step_args()).changed == []


def test_nested_and_keyword_arguments_and_numpy_arrays_are_named_by_path(student):
    batch = {"inputs": [torch.ones(2), torch.ones(3)], "note": "text"}
    observed = observe(student.zero_the_nested, batch, scale=np.ones(1))
    assert observed.changed == ["argument 1['inputs'][1]", "argument scale"]


def test_nan_inputs_left_alone_are_not_changed(student):
    assert observe(student.nan_stays_nan, torch.tensor([float("nan"), 1.0])).changed == []


@pytest.mark.parametrize("function, tracks, recorded", [
    ("predict_with_graph", ["the result"], True),
    ("predict_detached", [], True),           # the graph was built, then thrown away
    ("predict_argmax_with_graph", [], True),  # an argmax carries no gradient, but the forward pass recorded one
    ("predict_no_grad", [], False),
    ("pair_with_graph", ["the result['scores'][1]"], True),
])
def test_gradient_tracking_and_graph_building_are_reported(student, function, tracks, recorded):
    observed = observe(getattr(student, function), torch.randn(5, 3))
    assert (observed.tracks_grad, observed.recorded_graph) == (tracks, recorded)


def test_a_student_exception_comes_back_as_from_any_call(student):
    from autograder.errors import StudentCodeError
    with pytest.raises(StudentCodeError, match="TypeError"):
        observe(student.step_new, torch.ones(2))


IMAGES, KERNELS = torch.randn(2, 3, 6, 6), torch.randn(4, 3, 3, 3)


@pytest.mark.parametrize("function, args, present, absent", [
    ("convolve_with_torch", (IMAGES, KERNELS), ["torch.nn.functional.conv2d"], []),
    ("convolve_by_hand", (IMAGES, KERNELS),
     ["torch.nn.functional.unfold", "torch.Tensor.flatten", "torch.Tensor.view"], ["torch.nn.functional.conv2d"]),
    ("relu_by_module", (torch.randn(3),), ["torch.nn.functional.relu"], []),   # what the module's forward called
])
def test_the_torch_functions_a_call_used_are_named(student, function, args, present, absent):
    called = observe(getattr(student, function), *args).called
    assert all(name in called for name in present) and not any(name in called for name in absent), called
    assert len(called) == len(set(called))


def test_each_name_is_reported_once_in_the_order_first_used(student):
    called = observe(student.many_calls, torch.ones(2)).called
    assert called == ["torch.sin", "torch.cos", "torch.Tensor.add"]


class _Forged:
    """A channel answering every request with one fixed reply, as a hostile worker could."""

    def __init__(self, reply):
        self.reply = reply

    def request(self, message):
        return self.reply


@pytest.mark.parametrize("reply", [
    None, [], {"output": 1},
    {"output": None, "changed": [0], "tracks_grad": [], "recorded_graph": False, "called": []},      # no array was sent
    {"output": None, "changed": [], "tracks_grad": [0], "recorded_graph": False, "called": []},      # none came back
    {"output": torch.ones(1), "changed": [], "tracks_grad": [0, 0], "recorded_graph": False, "called": []},
    {"output": None, "changed": [-1], "tracks_grad": [], "recorded_graph": False, "called": []},
    {"output": None, "changed": [True], "tracks_grad": [], "recorded_graph": False, "called": []},
    {"output": None, "changed": [], "tracks_grad": [], "recorded_graph": 1, "called": []},
    {"output": None, "changed": [], "tracks_grad": [], "recorded_graph": False},                   # no "called"
    {"output": None, "changed": [], "tracks_grad": [], "recorded_graph": False, "called": "torch.relu"},
    {"output": None, "changed": [], "tracks_grad": [], "recorded_graph": False, "called": [1]},
    {"output": None, "changed": [], "tracks_grad": [], "recorded_graph": False, "called": ["x" * 201]},
    {"output": None, "changed": [], "tracks_grad": [], "recorded_graph": False, "called": ["f"] * 257},
    {"output": None, "changed": "argument 1", "tracks_grad": [], "recorded_graph": False, "called": []},
])
def test_a_forged_answer_is_refused_not_misread(reply):
    fn = RemoteObject(_Forged(reply), Handle(1, "function"))
    with pytest.raises(TypeError, match="malformed answer"):
        observe(fn, 3)


def test_places_are_named_from_what_the_grader_sent_and_received():
    reply = {"output": (torch.ones(1), torch.ones(2)), "changed": [1], "tracks_grad": [1], "recorded_graph": True,
             "called": ["torch.relu"]}
    observed = observe(RemoteObject(_Forged(reply), Handle(1, "function")), torch.ones(1), "x", lr=torch.ones(1))
    assert observed == Observed(reply["output"], ["argument lr"], ["the result[1]"], True, ["torch.relu"])
