"""Attacks on the protocol itself: the worker writes its own bytes to the private answer pipe (found
through /proc/self/fd), or names its objects so that their handles break the wire's rules."""
from .conftest import FIND_ANSWER_PIPE, expect_softmax, grade, reference_with, stub_with

GARBAGE = FIND_ANSWER_PIPE + '''
_correct = softmax


def softmax(logits):
    os.write(answer_pipe(), b"\\xff\\xfe not a wire message \\x00" * 64)
    return _correct(logits)  # the real answer follows the garbage
'''

FORGED_REPLIES = FIND_ANSWER_PIPE + '''
import json, struct


def frame(body):
    header = json.dumps({"body": body, "buffers": []}).encode()
    return struct.pack(">I", len(header)) + header


# Queue well-formed answers ahead of the requests they will be read as: every answer from now on is late.
ok = {"$": "dict", "items": [["ok", True], ["value", None]]}
passed = {"$": "dict", "items": [["ok", True], ["value", {"$": "dict", "items": [["status", "passed"], ["score", 5]]}]]}
os.write(answer_pipe(), frame(ok) * 3 + frame(passed) * 40)
'''

HANDLE_TYPE_NAME = '''
Evil = type("\\n::error::forged\\n::add-mask::" + "x" * 300, (), {})


def softmax(logits):
    return Evil()  # a handle, whose type name is over the wire's 200-character limit
'''


def test_garbage_on_the_answer_pipe_is_a_protocol_error_of_that_test_only(tmp_path):
    result = grade(reference_with(tmp_path, "garbage", softmax=GARBAGE))
    expect_softmax(result, "error", "the worker sent invalid data (header of")


def test_forged_answers_queued_ahead_gain_nothing(tmp_path):
    result = grade(stub_with(tmp_path, "forged", prepend=[FORGED_REPLIES]))
    assert result.score == 0 and result.status == "graded"
    assert all(t.status == "error" and "malformed cell report" in t.message for t in result.tests), \
        {t.name: t.message[:200] for t in result.tests}


def test_a_handle_with_an_oversized_type_name_is_refused(tmp_path):
    result = grade(reference_with(tmp_path, "handle_name", softmax=HANDLE_TYPE_NAME))
    expect_softmax(result, "error", "the worker sent invalid data (malformed tagged object")
