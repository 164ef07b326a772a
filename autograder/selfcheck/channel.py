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

from autograder.remote import Channel, RemoteObject, manual_seed
from autograder.worker import wire
from autograder.worker.serve import Namespace, describe

# Files of the Python installation, its packages and this engine: never the student's own code.
_INSTALLED = tuple(sorted({os.path.join(path, "") for path in (
    *(sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")),
    str(Path(__file__).resolve().parents[1]))}))


def _yours(filename: str) -> bool:
    """A frame of the student's code: a notebook cell, or a file of their own."""
    return not filename.startswith(_INSTALLED)


class LocalChannel(Channel):
    """A channel answered from `namespace` in this process."""

    stale = "this student object belongs to another check"

    def __init__(self, namespace: dict[str, Any]) -> None:
        self._server = Namespace(namespace)

    def request(self, message: dict[str, Any]) -> Any:
        request = wire.unpack(wire.pack(message, self._to_handle), self._server.resolve)
        try:
            data = wire.pack({"ok": True, "value": self._server.handle(request)}, self._server.keep)
        except (Exception, SystemExit) as exc:  # KeyboardInterrupt (the kernel's stop button) stops the check
            data = wire.pack({"ok": False, "error": describe(exc, _yours)})
        return self._answer(wire.unpack(data, self._from_handle))

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
