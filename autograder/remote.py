"""Proxies that let a test use the student's objects as if they were local, while they stay in the worker."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from autograder import bounds
from autograder.errors import ProtocolError, StudentCodeError
from autograder.worker.wire import Handle, WireError, arrays


class Channel:
    """Where a `RemoteObject`'s requests go: a worker process, or a student's own kernel. Objects that are not
    plain data stay on the other side and cross as handles bound to this channel; an error answer is the
    student's exception, raised here as `StudentCodeError`."""

    stale = "this student object belongs to another channel"  # the subclass says which

    def request(self, message: dict[str, Any]) -> Any:
        raise NotImplementedError

    def namespace(self) -> RemoteObject:
        """The student's top-level names."""
        return RemoteObject(self, None)

    def _from_handle(self, handle: Handle) -> RemoteObject:
        return RemoteObject(self, handle)

    def _to_handle(self, value: Any) -> Handle:
        if isinstance(value, RemoteObject) and value._channel is self and value._handle is not None:
            return value._handle
        if isinstance(value, RemoteObject):
            raise WireError(self.stale)
        raise WireError(f"cannot send a value of type {type(value).__name__} to the worker")

    @staticmethod
    def _answer(reply: Any) -> Any:
        """The value of an answer `{"ok": True, "value": ...}`; an error answer raised as the student's
        exception; anything else is a ProtocolError."""
        if type(reply) is dict and reply.keys() == {"ok", "value"} and reply["ok"] is True:
            return reply["value"]
        if type(reply) is dict and reply.keys() == {"ok", "error"} and reply["ok"] is False:
            error = reply["error"]
            if type(error) is dict and error.keys() == {"type", "message", "traceback"} \
                    and all(type(v) is str for v in error.values()):
                raise StudentCodeError(bounds.clip(error["type"], bounds.NAME_CHARS), error["message"],
                                       error["traceback"])
        raise ProtocolError("malformed answer")


class RemoteObject:
    """An object that lives in the worker; attribute access, calls and indexing are requests."""

    __slots__ = ("_channel", "_handle")

    def __init__(self, channel: Channel, handle: Handle | None) -> None:
        object.__setattr__(self, "_channel", channel)
        object.__setattr__(self, "_handle", handle)

    @property
    def remote_type(self) -> str:
        return self._handle.type if self._handle else "notebook"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._channel.request({"op": "getattr", "target": self._handle, "name": name})

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._channel.request({"op": "call", "target": self._handle, "args": list(args), "kwargs": kwargs})

    def __getitem__(self, key: Any) -> Any:
        return self._channel.request({"op": "getitem", "target": self._handle, "key": key})

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("remote objects are read-only from the grader")

    def __repr__(self) -> str:
        return f"<student {self.remote_type}>"


def _channel_of(obj: RemoteObject) -> Channel:
    if not isinstance(obj, RemoteObject):
        raise TypeError(f"expected a student object, got {type(obj).__name__}")
    return obj._channel


def manual_seed(student: RemoteObject, seed: int) -> None:
    """Seed torch, numpy and random in the worker."""
    _channel_of(student).request({"op": "seed", "seed": seed})


@dataclass
class VJP:
    output: Any
    input_grads: list[Any]
    param_grads: dict[str, Any]


def vjp(fn: RemoteObject, *args: Any, grad_output: torch.Tensor | None = None, wrt: Sequence[int] = (0,),
        **kwargs: Any) -> VJP:
    """Call `fn` in the worker and backpropagate `grad_output` (ones if None) through it there.

    Returns the output, the gradients of the positional arguments listed in `wrt`, and the gradients
    of the parameters by name when `fn` is a module or a bound method of one.
    """
    reply = _channel_of(fn).request({"op": "vjp", "target": fn._handle, "args": list(args), "kwargs": kwargs,
                                     "grad_output": grad_output, "wrt": list(wrt)})
    if not isinstance(reply, dict) or reply.keys() != {"output", "input_grads", "param_grads"} \
            or not isinstance(reply["input_grads"], list) or not isinstance(reply["param_grads"], dict):
        raise TypeError("malformed answer from the worker to a backward request")
    return VJP(reply["output"], reply["input_grads"], reply["param_grads"])


@dataclass(frozen=True)
class Observed:
    output: Any
    changed: list[str]     # the tensor or array arguments the call wrote to, e.g. "argument 1", "argument lr"
    tracks_grad: list[str]  # the returned tensors that still track gradients, e.g. "the result", "the result[1]"
    recorded_graph: bool   # autograd saved tensors for a backward pass while the call ran
    called: list[str]      # the torch functions and methods it used, e.g. "torch.nn.functional.conv2d"


def _argument(path: tuple) -> str:
    where, key, *rest = path
    name = f"argument {key + 1}" if where == 0 else f"argument {key}"
    return name + "".join(f"[{part!r}]" for part in rest)


def observe(fn: RemoteObject, *args: Any, **kwargs: Any) -> Observed:
    """Call `fn` in the worker and learn what a contract can say about the call beyond its result: which
    tensor arguments it changed in place ("do not modify the inputs"), whether what it returns still
    tracks gradients, whether it built a graph for backpropagation at all ("without gradients"), and which
    torch functions it called ("do not call F.conv2d here"). The names say what honest code did; code
    that sets out to hide a call can, so they ground a verdict on a contract, not on security.

    The worker reports places, not names: the grader names them from what it sent and what came back,
    so the report can only be about the call's own values.
    """
    sent = [path for path, _ in arrays((args, kwargs))]
    reply = _channel_of(fn).request({"op": "observe", "target": fn._handle, "args": list(args), "kwargs": kwargs})
    if not isinstance(reply, dict) or reply.keys() != {"output", "changed", "tracks_grad", "recorded_graph", "called"} \
            or type(reply["recorded_graph"]) is not bool or type(reply["called"]) is not list \
            or len(reply["called"]) > bounds.CALLED_NAMES \
            or not all(type(name) is str and len(name) <= bounds.NAME_CHARS for name in reply["called"]):
        raise TypeError("malformed answer from the worker to an observed call")
    returned = [path for path, _ in arrays(reply["output"])]
    for key, bound in (("changed", len(sent)), ("tracks_grad", len(returned))):
        places = reply[key]
        if not isinstance(places, list) or not all(type(i) is int and 0 <= i < bound for i in places) \
                or len(set(places)) != len(places):
            raise TypeError("malformed answer from the worker to an observed call")
    return Observed(reply["output"], [_argument(sent[i]) for i in reply["changed"]],
                    ["the result" + "".join(f"[{part!r}]" for part in returned[i]) for i in reply["tracks_grad"]],
                    reply["recorded_graph"], reply["called"])
