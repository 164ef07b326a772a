"""The `student` proxy in a student's own kernel: requests answered in-process from the kernel's namespace.

On the student's own machine there is nothing to protect, so no worker is needed; but a test must behave
as it does when graded. So the requests are answered by the worker's own handler (`serve.Namespace`), and
every request and answer crosses as wire data, packed and unpacked: tensors arrive as copies, objects
that are not plain data stay behind handles, and the student's exceptions arrive as `StudentCodeError`.
"""
from __future__ import annotations

import os
import sysconfig
from pathlib import Path
from typing import Any

from autograder import bounds
from autograder.errors import StudentCodeError
from autograder.remote import RemoteObject, manual_seed
from autograder.worker import wire
from autograder.worker.serve import Namespace, describe

# Files of the Python installation, its packages and this engine: never the student's own code.
_INSTALLED = tuple(sorted({os.path.join(path, "") for path in (
    *(sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")),
    str(Path(__file__).resolve().parents[1]))}))


def _yours(filename: str) -> bool:
    """A frame of the student's code: a notebook cell, or a file of their own."""
    return not filename.startswith(_INSTALLED)


class LocalChannel:
    """What a `RemoteObject` needs of a channel, answered from `namespace` in this process."""

    def __init__(self, namespace: dict[str, Any]) -> None:
        self._server = Namespace(namespace)

    def namespace(self) -> RemoteObject:
        """The kernel's top-level names, as the `student` fixture gives them."""
        return RemoteObject(self, None)

    def request(self, message: dict[str, Any]) -> Any:
        request = wire.unpack(wire.pack(message, self._to_handle), self._server.resolve)
        try:
            data = wire.pack({"ok": True, "value": self._server.handle(request)}, self._server.keep)
        except (Exception, SystemExit) as exc:  # KeyboardInterrupt (the kernel's stop button) stops the check
            data = wire.pack({"ok": False, "error": describe(exc, _yours)})
        reply = wire.unpack(data, self._from_handle)
        if reply["ok"]:
            return reply["value"]
        error = reply["error"]
        raise StudentCodeError(bounds.clip(error["type"], bounds.NAME_CHARS), error["message"], error["traceback"])

    def _from_handle(self, handle: wire.Handle) -> RemoteObject:
        return RemoteObject(self, handle)

    def _to_handle(self, value: Any) -> wire.Handle:
        if isinstance(value, RemoteObject) and value._channel is self and value._handle is not None:
            return value._handle
        if isinstance(value, RemoteObject):
            raise wire.WireError("this student object belongs to another check")
        raise wire.WireError(f"cannot send a value of type {type(value).__name__} to the worker")

    def close(self) -> None:
        """Let go of every object the tests made."""
        self._server.objects.clear()


class KernelSession:
    """The grading plugin's session for a kernel: the `student` fixture is the kernel's namespace, with every
    seed reset to 0 before each test, as in a worker. Nothing runs first: the kernel's cells already have."""

    def __init__(self, namespace: dict[str, Any]) -> None:
        self.channel = LocalChannel(namespace)
        self.cell_errors: list[dict[str, str]] = []
        self.output = ""

    def student(self, request_seconds: float) -> RemoteObject:
        student = self.channel.namespace()
        manual_seed(student, 0)
        return student

    def close(self) -> None:
        self.channel.close()
