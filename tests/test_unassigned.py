"""Naming what was left unassigned, from exceptions raised for real by code in a worker."""
import pytest

from autograder.worker.client import Budget, Limits, WorkerClient
from autograder.errors import StudentCodeError
from autograder.unassigned import unassigned_mistake

CODE = '''
import torch

def running_total(values):
    for v in values:
        total += v
    return total

def shifted(values):
    return [v + offset for v in values]

def only_when_asked(flag):
    if flag:
        weights = 1
    return weights

class Scaled(torch.nn.Module):
    def forward(self, x):
        return x * self.scale

def broken(x):
    return x.shape
'''


@pytest.fixture(scope="module")
def namespace():
    client = WorkerClient(Limits(cell_seconds=5, request_seconds=10, output_bytes=200), Budget(120))
    assert client.run_cell("cell 1", CODE) is None
    yield client.namespace()
    client.cleanup()


def raised(call) -> StudentCodeError:
    with pytest.raises(StudentCodeError) as info:
        call()
    return info.value


def test_a_local_read_before_its_first_assignment_is_named_with_its_function(namespace):
    mistake = unassigned_mistake(raised(lambda: namespace.running_total([1, 2])))
    assert mistake.startswith("`total` is read in running_total before any value is assigned to it")


def test_an_assignment_on_a_branch_that_did_not_run_is_named(namespace):
    mistake = unassigned_mistake(raised(lambda: namespace.only_when_asked(False)))
    assert "`weights` is read in only_when_asked" in mistake and "a branch that did not run" in mistake


def test_an_undefined_name_is_named_with_the_function_around_the_comprehension(namespace):
    mistake = unassigned_mistake(raised(lambda: namespace.shifted([1, 2])))
    assert mistake.startswith("`offset` is used in shifted, but no variable, function or module of that name exists")


def test_an_attribute_of_self_never_set_is_named(namespace):
    import torch

    mistake = unassigned_mistake(raised(lambda: namespace.Scaled()(torch.ones(2))))
    assert mistake.startswith("forward reads self.scale, which the object was never given")


def test_other_exceptions_name_nothing(namespace):
    assert unassigned_mistake(raised(lambda: namespace.broken(3))) is None  # an attribute of an int, not of self
    assert unassigned_mistake(StudentCodeError("ValueError", "name 'x' is not defined", "")) is None
