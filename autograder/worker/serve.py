"""The untrusted side: a process that runs a submission's cells and answers the grader's requests.

Started as `python -I -m autograder.worker` with the request pipe on stdin and the answer pipe on
stdout. Both are moved to private descriptors at once, so the student's prints go to the capture file
the grader put on stderr, never into the protocol. Everything this process sends is treated by the
grader as hostile; nothing here is trusted, which is why no check or score is computed here.
"""
from __future__ import annotations

import linecache
import os
import random
import resource
import signal
import sys
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch.overrides import TorchFunctionMode, resolve_name

from autograder.bounds import CALLED_NAMES, NAME_CHARS
from autograder.worker import wire

_LIMITS = {"memory": resource.RLIMIT_AS, "cpu": resource.RLIMIT_CPU, "file_size": resource.RLIMIT_FSIZE}


class CellTimeout(BaseException):
    """Raised in the cell that overran its time; BaseException so `except Exception` does not eat it."""


class _IPythonShim:
    """Stands in for get_ipython(): magics and shell escapes do nothing, cell magics run their body."""

    def __init__(self, namespace: dict) -> None:
        self._namespace = namespace

    def run_line_magic(self, name: str, line: str) -> None:
        return None

    def run_cell_magic(self, name: str, line: str, body: str) -> None:
        if name in ("time", "capture", "timeit"):
            exec(compile(body, "<cell magic>", "exec"), self._namespace)

    def system(self, command: str) -> None:
        return None

    def getoutput(self, command: str) -> list:
        return []


class Namespace:
    """Answers the requests a test's `student` proxy makes, from one namespace: `getattr`, `call`, `getitem`,
    `vjp`, `observe` and `seed`. Objects that are not plain data stay here, behind handles. The worker
    serves it over its pipes; a student's self-check in their own kernel (`autograder.selfcheck`) in-process."""

    def __init__(self, namespace: dict[str, Any]) -> None:
        self.namespace = namespace
        self.objects: dict[int, Any] = {}

    def handle(self, request: dict) -> Any:
        op = request["op"]
        if op == "seed":
            _seed(request["seed"])
            return None
        target = self.namespace if request["target"] is None else request["target"]
        if op == "getattr":
            if target is self.namespace:
                if request["name"] not in self.namespace:
                    raise NameError(f"the notebook does not define {request['name']!r}")
                return self.namespace[request["name"]]
            return getattr(target, request["name"])
        if op == "getitem":
            return target[request["key"]]
        if op == "call":
            return target(*request["args"], **request["kwargs"])
        if op == "vjp":
            return _vjp(target, request["args"], request["kwargs"], request["grad_output"], request["wrt"])
        if op == "observe":
            return _observe(target, request["args"], request["kwargs"])
        raise ValueError(f"unknown request {op!r}")

    def resolve(self, handle: wire.Handle) -> Any:
        if handle.id not in self.objects:
            raise wire.WireError(f"unknown handle {handle.id}")
        return self.objects[handle.id]

    def keep(self, obj: Any) -> wire.Handle:
        handle_id = len(self.objects) + 1
        self.objects[handle_id] = obj
        return wire.Handle(handle_id, type(obj).__name__)


class Worker(Namespace):
    """The worker process: runs the submission's cells, then serves its namespace over the pipes."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        super().__init__({"__name__": "__main__", "__builtins__": __builtins__})
        self.read_fd, self.write_fd = read_fd, write_fd
        self.namespace["get_ipython"] = lambda: _IPythonShim(self.namespace)

    def serve(self) -> None:
        while True:
            try:
                request = wire.read_message(self.read_fd, self.resolve)
            except wire.ChannelClosed:
                return
            try:
                reply = {"ok": True, "value": self.handle(request)}
                data = wire.pack(reply, self.keep)
            except BaseException as exc:  # the student's code may raise anything, SystemExit included
                data = wire.pack({"ok": False, "error": describe(exc)})
            _flush_output()
            wire.write_message(self.write_fd, data)

    def handle(self, request: dict) -> Any:
        op = request["op"]
        if op == "limits":
            for name, value in request["limits"].items():
                resource.setrlimit(_LIMITS[name], (value, value))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            return None
        if op == "run_cell":
            return self.run_cell(request["label"], request["source"], request["timeout"])
        return super().handle(request)

    def run_cell(self, label: str, source: str, timeout: float) -> dict | None:
        filename = f"<{label}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        signal.signal(signal.SIGALRM, _raise_timeout)
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            exec(compile(source, filename, "exec"), self.namespace)
            return None
        except BaseException as exc:
            return describe(exc)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            _flush_output()


def _raise_timeout(signum: int, frame: Any) -> None:
    raise CellTimeout("the cell took too long and was stopped")


def _seed(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def _vjp(fn: Any, args: list, kwargs: dict, grad_output: Any, wrt: list[int]) -> dict:
    for i in wrt:
        args[i] = args[i].detach().requires_grad_(True)
    module = fn if isinstance(fn, torch.nn.Module) else getattr(fn, "__self__", None)
    if isinstance(module, torch.nn.Module):
        module.zero_grad(set_to_none=True)
    else:
        module = None
    output = fn(*args, **kwargs)
    if not isinstance(output, torch.Tensor):
        raise TypeError(f"expected a tensor output to backpropagate through, got {type(output).__name__}")
    output.backward(torch.ones_like(output) if grad_output is None else grad_output)
    return {
        "output": output.detach(),
        "input_grads": [args[i].grad for i in wrt],
        "param_grads": {name: p.grad for name, p in module.named_parameters()} if module else {},
    }


def _observe(fn: Any, args: list, kwargs: dict) -> dict:
    """Call `fn` and report what its contract may ask about the call: which array arguments it changed (by
    place in `wire.arrays` order), which returned tensors still track gradients, and whether autograd
    saved anything for a backward pass while it ran."""
    given = [array for _, array in wire.arrays((args, kwargs))]
    before = [_contents(array) for array in given]
    recorded = False

    def pack(saved: torch.Tensor) -> torch.Tensor:
        nonlocal recorded
        recorded = True
        return saved

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda saved: saved), _TorchCalls() as calls:
        output = fn(*args, **kwargs)
    return {"output": output,
            "changed": [i for i, (array, old) in enumerate(zip(given, before)) if _contents(array) != old],
            "tracks_grad": [i for i, (_, array) in enumerate(wire.arrays(output))
                            if isinstance(array, torch.Tensor) and array.requires_grad],
            "recorded_graph": recorded,
            "called": list(calls.names)}


class _TorchCalls(TorchFunctionMode):
    """The torch functions and tensor methods a call used, by name ("torch.nn.functional.conv2d"), in the order
    of their first use: the outermost ones only (a mode is off while it handles a call), at most CALLED_NAMES."""

    def __init__(self) -> None:
        super().__init__()
        self.names: dict[str, None] = {}

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        if len(self.names) < CALLED_NAMES:
            name = resolve_name(func) or getattr(func, "__qualname__", None) or type(func).__name__
            self.names[str(name)[:NAME_CHARS]] = None
        return func(*args, **(kwargs or {}))


def _contents(array: Any) -> tuple:
    """Shape, type and bytes: equal exactly when nothing was written (NaN compares equal to itself here)."""
    if isinstance(array, torch.Tensor):
        array = array.detach().cpu().resolve_conj().resolve_neg().numpy()
    return array.shape, array.dtype.str, array.tobytes()


def _in_a_cell(filename: str) -> bool:
    return filename.startswith("<")


def describe(exc: BaseException, yours: Callable[[str], bool] = _in_a_cell) -> dict:
    """Type, message and the traceback through the student's code only: the frames whose file `yours`
    accepts (here, the cells this worker ran)."""
    try:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if yours(f.filename)]
        tb = "".join(traceback.format_list(frames)) + "".join(traceback.format_exception_only(exc))
        message = str(exc)
    except BaseException:
        tb, message = "", "(the exception could not be described)"
    return {"type": type(exc).__name__, "message": message[:2000], "traceback": tb[-8000:]}


def _flush_output() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass


def main() -> None:
    read_fd, write_fd = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    torch.set_num_threads(1)
    _seed(0)
    Worker(read_fd, write_fd).serve()
