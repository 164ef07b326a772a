"""The wire format: plain data round-trips, and hostile bytes are refused with WireError."""
import json
import math
import os
import struct

import numpy as np
import pytest
import torch

from autograder.worker import wire


def roundtrip(value, to_handle=None, from_handle=lambda h: ("handle", h.id, h.type)):
    r, w = os.pipe()
    try:
        wire.write_message(w, wire.pack(value, to_handle))
        return wire.read_message(r, from_handle, deadline=None)
    finally:
        os.close(r)
        os.close(w)


def raw_message(header: dict, *buffers: bytes) -> bytes:
    data = json.dumps(header).encode()
    return struct.pack(">I", len(data)) + data + b"".join(buffers)


def read_raw(data: bytes):
    r, w = os.pipe()
    try:
        os.write(w, data)
        os.close(w)
        return wire.read_message(r, lambda h: h, deadline=None)
    finally:
        os.close(r)


def test_plain_data_round_trips():
    value = {"a": [1, 2.5, None, True, "x"], "t": (1, (2, 3)), "nan": float("nan"), "inf": -math.inf}
    got = roundtrip(value)
    assert got["a"] == [1, 2.5, None, True, "x"] and got["t"] == (1, (2, 3))
    assert math.isnan(got["nan"]) and got["inf"] == -math.inf


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.int64, torch.bool, torch.uint8])
def test_tensors_round_trip_as_plain_tensors(dtype):
    t = (torch.arange(24).reshape(2, 3, 4) % 3).to(dtype)
    got = roundtrip({"t": t.t() if t.dim() == 2 else t.transpose(0, 2)})["t"]
    assert type(got) is torch.Tensor and got.dtype == dtype and torch.equal(got, t.transpose(0, 2))


def test_tensor_subclass_arrives_as_plain_tensor():
    class Sneaky(torch.Tensor):
        def __eq__(self, other):
            return True

    got = roundtrip(torch.zeros(3).as_subclass(Sneaky))
    assert type(got) is torch.Tensor


def test_numpy_arrays_round_trip():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    got = roundtrip(a)
    assert isinstance(got, np.ndarray) and np.array_equal(got, a)


def test_unsendable_values_become_handles_or_are_refused():
    kept = []

    def to_handle(obj):
        kept.append(obj)
        return wire.Handle(len(kept), type(obj).__name__)

    assert roundtrip({"m": object()}, to_handle)["m"] == ("handle", 1, "object")
    with pytest.raises(wire.WireError):
        wire.pack(object())


@pytest.mark.parametrize("header, buffers", [
    ({"body": {"$": "tensor", "dtype": "float64", "shape": [3], "buffer": 0}, "buffers": [8]}, [b"\0" * 8]),
    ({"body": {"$": "tensor", "dtype": "object", "shape": [1], "buffer": 0}, "buffers": [8]}, [b"\0" * 8]),
    ({"body": {"$": "tensor", "dtype": "float64", "shape": [1], "buffer": 3}, "buffers": [8]}, [b"\0" * 8]),
    ({"body": {"$": "tensor", "dtype": "float64", "shape": [-1], "buffer": 0}, "buffers": [8]}, [b"\0" * 8]),
    ({"body": {"$": "pickle", "data": "gASV"}, "buffers": []}, []),
    ({"body": {"$": "dict", "items": [[1, 2]]}, "buffers": []}, []),
    ({"body": 1, "buffers": [], "extra": 1}, []),
    ({"body": 1, "buffers": [2**40]}, []),
])
def test_malformed_messages_are_refused(header, buffers):
    with pytest.raises(wire.WireError):
        read_raw(raw_message(header, *buffers))


def test_deep_nesting_and_bad_json_are_refused():
    deep = {"body": None, "buffers": []}
    node = 0
    for _ in range(wire.MAX_DEPTH + 5):
        node = [node]
    deep["body"] = node
    with pytest.raises(wire.WireError):
        read_raw(raw_message(deep))
    with pytest.raises(wire.WireError):
        read_raw(struct.pack(">I", 5) + b"{nope")
    with pytest.raises(wire.WireError):
        read_raw(struct.pack(">I", 2**31))
    with pytest.raises(wire.WireError):
        read_raw(struct.pack(">I", 3) + b"NaN")


def test_closed_pipe_and_deadline():
    r, w = os.pipe()
    os.close(w)
    with pytest.raises(wire.ChannelClosed):
        wire.read_message(r, lambda h: h)
    os.close(r)
    r, w = os.pipe()
    with pytest.raises(wire.ChannelTimeout):
        wire.read_message(r, lambda h: h, deadline=0.0)
    os.close(r)
    os.close(w)
