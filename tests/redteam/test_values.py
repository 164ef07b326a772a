"""Hostile return values. Whatever `softmax` returns, only plain data reaches the checks in the grader:
each attack below costs exactly test_softmax's 5 points and every other test is still graded (95)."""
import pytest

from .conftest import expect_softmax, grade, reference_with

ALWAYS_EQUAL = '''
class AlwaysEqual:
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    __lt__ = __le__ = __gt__ = __ge__ = __eq__
    def __bool__(self):
        return True
    def __getattr__(self, name):
        return self
    def __call__(self, *args, **kwargs):
        return self


def softmax(logits):
    return AlwaysEqual()
'''

TENSOR_SUBCLASS = '''
class Liar(torch.Tensor):
    """Zeros that claim to equal, and be close to, anything."""
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    def __bool__(self):
        return True
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.isclose, torch.allclose, torch.equal, torch.eq, torch.Tensor.__eq__):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})


def softmax(logits):
    return torch.zeros_like(logits).as_subclass(Liar)
'''

NDARRAY_SUBCLASS = '''
import numpy as np


class Liar(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, dtype=bool)
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return True


def softmax(logits):
    return np.zeros(tuple(logits.shape)).view(Liar)
'''

NAN = '''
def softmax(logits):
    return torch.full_like(logits, float("nan"))
'''

META = '''
def softmax(logits):
    return torch.empty(logits.shape, dtype=logits.dtype, device="meta")
'''

WRONG_DTYPE = '''
_correct = softmax


def softmax(logits):
    return (_correct(logits) * 1000).long()
'''

WRONG_SHAPE = '''
_correct = softmax


def softmax(logits):
    return _correct(logits)[None]  # (1, N, C): broadcasts against the expected (N, C)
'''

HOSTILE_DUNDERS = '''
class Hostile:
    def __repr__(self):
        while True:
            pass
    def __str__(self):
        return "x" * 10**8
    def __format__(self, spec):
        raise RuntimeError("no format")
    def __len__(self):
        raise RuntimeError("no len")
    def __iter__(self):
        while True:
            yield self
    def __hash__(self):
        raise RuntimeError("no hash")
    def __bool__(self):
        raise RuntimeError("no bool")
    def __eq__(self, other):
        raise RuntimeError("no eq")
    def __reduce__(self):
        raise RuntimeError("no pickle")


def softmax(logits):
    return Hostile()
'''

FAKE_CLASS = '''
class Impostor:
    """isinstance(x, torch.Tensor) is True in the worker: __class__ lies."""
    @property
    def __class__(self):
        return torch.Tensor
    def __getattr__(self, name):
        raise RuntimeError(f"no {name}")


def softmax(logits):
    return Impostor()
'''

EXCEPTION_STR_RAISES = '''
class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("describe me if you can")
    def __repr__(self):
        raise RuntimeError("describe me if you can")


Unprintable.__name__ = Unprintable.__qualname__ = "::error::Unprintable" + "x" * 100_000


def softmax(logits):
    raise Unprintable()
'''

EXCEPTION_STR_ENDLESS = '''
class Endless(Exception):
    def __str__(self):
        while True:
            pass


def softmax(logits):
    raise Endless()
'''

RECURSIVE = '''
def softmax(logits):
    loop = []
    loop.append(loop)
    return loop
'''

HUGE_NESTED = '''
def softmax(logits):
    row = [0.0] * 1000
    return [row] * 100_000  # 10**8 floats to encode, in 100 KB of memory
'''

HUGE_VIEW = '''
def softmax(logits):
    return torch.zeros(1, dtype=torch.float32).expand(2**30)  # a 4 GiB tensor that takes 4 bytes until sent
'''

@pytest.mark.parametrize("attack, status, fragment", [
    pytest.param(ALWAYS_EQUAL, "failed", "expected a torch.Tensor, got an object of type AlwaysEqual",
                 id="always-true-eq-and-lt"),
    pytest.param(TENSOR_SUBCLASS, "failed", "softmax(z)", id="tensor-subclass-lying-comparisons"),
    pytest.param(NDARRAY_SUBCLASS, "failed", "expected a torch.Tensor, got a ndarray", id="ndarray-subclass"),
    pytest.param(NAN, "failed", "your result contains NaN", id="nan"),
    pytest.param(META, "failed", "expected a torch.Tensor, got an object of type Tensor", id="meta-tensor"),
    pytest.param(WRONG_DTYPE, "failed", "expected dtype torch.float64, got torch.int64", id="wrong-dtype"),
    pytest.param(WRONG_SHAPE, "failed", "expected shape (9, 5), got (1, 9, 5)", id="wrong-shape-broadcastable"),
    pytest.param(HOSTILE_DUNDERS, "failed", "got an object of type Hostile", id="hostile-repr-str-len-hash"),
    pytest.param(FAKE_CLASS, ("error", "failed"), "", id="lying-__class__"),
    pytest.param(RECURSIVE, "error", "RecursionError", id="list-containing-itself"),
])
def test_hostile_values_cost_only_the_attacked_test(tmp_path, attack, status, fragment):
    result = grade(reference_with(tmp_path, "attack", softmax=attack))
    expect_softmax(result, status, fragment)


def test_an_exception_that_cannot_be_printed_is_reported_bounded(tmp_path):
    """str() and repr() raise, the class name is 100 KB of workflow command: the test errors, briefly."""
    result = grade(reference_with(tmp_path, "unprintable", softmax=EXCEPTION_STR_RAISES))
    expect_softmax(result, "error", "(the exception could not be described)")
    softmax = {t.name: t for t in result.tests}["test_softmax"]
    assert len(softmax.message) < 1000


def test_an_exception_whose_str_never_returns_times_out(tmp_path):
    result = grade(reference_with(tmp_path, "endless_str", softmax=EXCEPTION_STR_ENDLESS))
    expect_softmax(result, "timed_out", "no answer within 5 s")


def test_a_structure_of_a_hundred_million_elements_is_stopped(tmp_path):
    result = grade(reference_with(tmp_path, "huge_nested", softmax=HUGE_NESTED))
    expect_softmax(result, ("timed_out", "error"), "")


def test_a_4_gib_tensor_is_refused_in_the_worker(tmp_path):
    """Materialising it for the wire breaks the worker's address-space limit; answers over the wire's own
    512 MiB limit are refused before they are read (tests/test_wire.py)."""
    result = grade(reference_with(tmp_path, "huge_tensor", softmax=HUGE_VIEW))
    expect_softmax(result, "error", "")
