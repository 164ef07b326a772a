"""Proxies that let a test use the student's objects as if they were local, while they stay in the worker."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from autograder.wire import Handle


class Channel(Protocol):
    def request(self, message: dict[str, Any]) -> Any: ...


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
