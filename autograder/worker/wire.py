"""The only format that crosses between the grader and a worker: plain data and raw tensor bytes.

A message is a 4-byte big-endian header length, a UTF-8 JSON header, then the raw buffers it names.
The JSON tree holds None, bool, int, float, str and lists as themselves; anything else is a tagged
object: {"$": "tuple" | "dict" | "tensor" | "ndarray" | "handle", ...}. Nothing is ever unpickled.
`decode` treats its input as hostile: every node, dtype, shape and length is checked against limits.
"""
from __future__ import annotations

import json
import math
import os
import select
import struct
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from autograder.bounds import NAME_CHARS

MAX_HEADER = 16 * 2**20
MAX_BUFFERS = 512 * 2**20
MAX_DEPTH = 64
MAX_NODES = 200_000
MAX_STR = 2**20

_DTYPES = {
    "bool": (torch.bool, np.bool_), "uint8": (torch.uint8, np.uint8), "int8": (torch.int8, np.int8),
    "int16": (torch.int16, np.int16), "int32": (torch.int32, np.int32), "int64": (torch.int64, np.int64),
    "float16": (torch.float16, np.float16), "float32": (torch.float32, np.float32),
    "float64": (torch.float64, np.float64),
}
_TORCH_NAMES = {t: name for name, (t, _) in _DTYPES.items()}


class WireError(Exception):
    """A message that is not valid wire data, or that breaks a size limit."""


class Handle:
    """A reference to an object that lives in the worker and never crosses the wire."""

    __slots__ = ("id", "type")

    def __init__(self, id: int, type: str = "") -> None:
        self.id, self.type = id, type


def _is_plain_dict(value: Any) -> bool:
    return isinstance(value, dict) and all(type(k) is str for k in value)


def _is_plain_tensor(value: Any) -> bool:
    return isinstance(value, torch.Tensor) and value.dtype in _TORCH_NAMES and value.layout == torch.strided \
        and value.device.type == "cpu"


def _is_plain_array(value: Any) -> bool:
    return isinstance(value, np.ndarray) and value.dtype.name in _DTYPES


def encode(value: Any, buffers: list[bytes], to_handle: Callable[[Any], Handle] | None = None) -> Any:
    """The JSON tree for `value`, appending raw tensor bytes to `buffers`.

    Values that are not plain data become handles through `to_handle` (the worker keeps the object);
    without it they are an error.
    """
    kind = type(value)
    if value is None or kind in (bool, str):
        return value
    if kind is int:
        return value
    if kind is float:
        return value if math.isfinite(value) else {"$": "float", "value": repr(value)}
    if kind in (np.float64, np.float32, np.int64, np.int32, np.bool_):
        return encode(value.item(), buffers, to_handle)
    if kind is list:
        return [encode(v, buffers, to_handle) for v in value]
    if kind is tuple:
        return {"$": "tuple", "items": [encode(v, buffers, to_handle) for v in value]}
    if _is_plain_dict(value):
        return {"$": "dict", "items": [[k, encode(v, buffers, to_handle)] for k, v in value.items()]}
    if _is_plain_tensor(value):
        plain = value.detach().contiguous()
        buffers.append(plain.numpy().tobytes())
        return {"$": "tensor", "dtype": _TORCH_NAMES[value.dtype], "shape": list(plain.shape),
                "buffer": len(buffers) - 1}
    if _is_plain_array(value):
        plain = np.ascontiguousarray(value)
        buffers.append(plain.tobytes())
        return {"$": "ndarray", "dtype": value.dtype.name, "shape": list(plain.shape),
                "buffer": len(buffers) - 1}
    if isinstance(value, Handle):
        return {"$": "handle", "id": value.id, "type": value.type}
    if to_handle is None:
        raise WireError(f"cannot send a value of type {kind.__name__}")
    handle = to_handle(value)
    return {"$": "handle", "id": handle.id, "type": handle.type}


def arrays(value: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """The tensors and numpy arrays that cross by value inside the containers that do, with their paths, in
    the order `encode` sends them: the grader and the worker name an array by its place in this order."""
    if _is_plain_tensor(value) or _is_plain_array(value):
        yield path, value
    elif type(value) in (list, tuple):
        for index, item in enumerate(value):
            yield from arrays(item, (*path, index))
    elif _is_plain_dict(value):
        for key, item in value.items():
            yield from arrays(item, (*path, key))


class _Decoder:
    def __init__(self, buffers: list[memoryview], from_handle: Callable[[Handle], Any]) -> None:
        self.buffers, self.from_handle = buffers, from_handle
        self.used: set[int] = set()
        self.nodes = 0

    def decode(self, node: Any, depth: int) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES or depth > MAX_DEPTH:
            raise WireError("message too large or too deeply nested")
        if node is None or type(node) in (bool, int, float):
            return node
        if type(node) is str:
            if len(node) > MAX_STR:
                raise WireError("string too long")
            return node
        if type(node) is list:
            return [self.decode(v, depth + 1) for v in node]
        if type(node) is not dict:
            raise WireError(f"unexpected JSON value of type {type(node).__name__}")
        tag = node.get("$")
        if tag == "tuple" and node.keys() == {"$", "items"} and type(node["items"]) is list:
            return tuple(self.decode(v, depth + 1) for v in node["items"])
        if tag == "dict" and node.keys() == {"$", "items"} and type(node["items"]) is list:
            out = {}
            for pair in node["items"]:
                if type(pair) is not list or len(pair) != 2 or type(pair[0]) is not str:
                    raise WireError("malformed dict entry")
                out[pair[0]] = self.decode(pair[1], depth + 1)
            return out
        if tag == "float" and node.keys() == {"$", "value"} and node["value"] in ("nan", "inf", "-inf"):
            return float(node["value"])
        if tag in ("tensor", "ndarray") and node.keys() == {"$", "dtype", "shape", "buffer"}:
            return self.array(node, as_tensor=tag == "tensor")
        if tag == "handle" and node.keys() == {"$", "id", "type"} and type(node["id"]) is int \
                and type(node["type"]) is str and len(node["type"]) <= NAME_CHARS:
            return self.from_handle(Handle(node["id"], node["type"]))
        raise WireError(f"malformed tagged object {str(node)[:80]!r}")

    def array(self, node: dict, as_tensor: bool) -> Any:
        dtype, shape, index = node["dtype"], node["shape"], node["buffer"]
        if type(dtype) is not str or dtype not in _DTYPES:
            raise WireError(f"dtype {str(dtype)[:20]!r} is not allowed")
        np_dtype = np.dtype(_DTYPES[dtype][1])
        # Even an empty array's other dimensions must fit: numpy refuses larger ones.
        if type(shape) is not list or len(shape) > 16 or not all(type(d) is int and d >= 0 for d in shape) \
                or math.prod(d for d in shape if d) * np_dtype.itemsize > MAX_BUFFERS:
            raise WireError("malformed shape")
        if type(index) is not int or not 0 <= index < len(self.buffers) or index in self.used:
            raise WireError("bad buffer reference")
        self.used.add(index)
        raw = self.buffers[index]
        if math.prod(shape) * np_dtype.itemsize != len(raw):
            raise WireError("buffer length does not match dtype and shape")
        array = np.frombuffer(raw, dtype=np_dtype).reshape(shape).copy()
        return torch.from_numpy(array) if as_tensor else array


def pack(message: Any, to_handle: Callable[[Any], Handle] | None = None) -> bytes:
    buffers: list[bytes] = []
    tree = encode(message, buffers, to_handle)
    header = json.dumps({"body": tree, "buffers": [len(b) for b in buffers]},
                        allow_nan=False, separators=(",", ":")).encode()
    return b"".join([struct.pack(">I", len(header)), header, *buffers])


def write_message(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _reject_constant(name: str) -> None:
    raise WireError(f"non-standard JSON constant {name}")


def read_message(fd: int, from_handle: Callable[[Handle], Any], deadline: float | None = None) -> Any:
    """Read and validate one message; `deadline` is a time.monotonic() value (None waits forever)."""
    (header_len,) = struct.unpack(">I", _read_exact(fd, 4, deadline))
    if header_len > MAX_HEADER:
        raise WireError(f"header of {header_len} bytes is over the limit")
    try:
        header = json.loads(_read_exact(fd, header_len, deadline), parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise WireError(f"header is not valid JSON: {exc}") from None
    if type(header) is not dict or header.keys() != {"body", "buffers"} or type(header["buffers"]) is not list \
            or not all(type(n) is int and n >= 0 for n in header["buffers"]):
        raise WireError("malformed header")
    if sum(header["buffers"]) > MAX_BUFFERS:
        raise WireError("buffers over the size limit")
    buffers = [memoryview(_read_exact(fd, n, deadline)) for n in header["buffers"]]
    try:
        return _Decoder(buffers, from_handle).decode(header["body"], 0)
    except RecursionError:
        raise WireError("message too deeply nested") from None


class ChannelClosed(EOFError):
    """The other end closed the pipe."""


class ChannelTimeout(TimeoutError):
    """No complete message before the deadline."""


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    chunks, remaining = [], n
    while remaining:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise ChannelTimeout()
        chunk = os.read(fd, min(remaining, 2**20))
        if not chunk:
            raise ChannelClosed()
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
