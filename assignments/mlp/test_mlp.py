"""Graded tests for the MLP assignment (100 points).

Sizes differ in every dimension so that swapped axes cannot pass by coincidence; forward and gradient
checks run in float64; module checks copy the student's weights into the reference.
"""


import pytest
import torch
import torch.nn.functional as F
from autograder import checks
from autograder.checks import CheckFailed
from autograder.datasets import digits_split
N, D, H1, H2, C = 9, 13, 11, 7, 5


def randn(*shape, seed=0):
    return torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


@pytest.mark.points(5)
@pytest.mark.public
def test_linear_forward(student):
    X, w, b = randn(N, D), randn(D, seed=1), torch.tensor(0.7, dtype=torch.float64)
    checks.assert_close(student.linear_forward(X, w, b), X @ w + b, "linear_forward(X, w, b)")


@pytest.mark.points(5)
@pytest.mark.public
def test_mse_loss(student):
    y_hat, y = randn(N), randn(N, seed=1)
    checks.assert_close(student.mse_loss(y_hat, y), ((y_hat - y) ** 2).mean(), "mse_loss(y_hat, y)",
                        mistakes={"the squared errors are summed, not averaged over the N samples":
                                  ((y_hat - y) ** 2).sum()})


@pytest.mark.points(10)
@pytest.mark.public
def test_mse_gradients_match_finite_differences(student):
    X, y, w, b = randn(N, D), randn(N, seed=1), randn(D, seed=2), torch.tensor(-0.3, dtype=torch.float64)

    def loss_of_w(w_):
        return ((X @ w_ + b - y) ** 2).mean()

    def loss_of_b(b_):
        return ((X @ w + b_ - y) ** 2).mean()

    got = student.mse_gradients(X, y, w, b)
    if not isinstance(got, tuple) or len(got) != 2:
        raise CheckFailed("mse_gradients must return a pair (dw, db)")
    dw, db = got
    checks.assert_gradient(dw, loss_of_w, w, "dL/dw from mse_gradients",
                           mistakes={"the factor 2 from differentiating the square is missing":
                                     checks.numerical_gradient(loss_of_w, w) / 2})
    checks.assert_gradient(db, loss_of_b, b, "dL/db from mse_gradients",
                           mistakes={"the factor 2 from differentiating the square is missing":
                                     checks.numerical_gradient(loss_of_b, b) / 2})


@pytest.mark.points(5)
@pytest.mark.public
def test_activations(student):
    z = 3 * randn(N, C)
    checks.assert_close(student.relu(z), torch.relu(z), "relu(z)")
    checks.assert_close(student.sigmoid(z), torch.sigmoid(z), "sigmoid(z)")
    checks.assert_close(student.tanh(z), torch.tanh(z), "tanh(z)")


@pytest.mark.points(5)
@pytest.mark.public
def test_softmax(student):
    z = randn(N, C)
    z[0] += 1000.0  # large logits: exp overflows unless the row maximum is subtracted first
    got = checks.expect_tensor(student.softmax(z), "softmax(z)")
    if got.shape == z.shape and torch.isnan(got[0]).any() and not torch.isnan(got[1:]).any():
        raise CheckFailed("softmax(z) gives NaN for a row of large logits: exp overflows. Subtract each "
                          "row's maximum before exponentiating")
    checks.assert_close(got, torch.softmax(z, dim=1), "softmax(z)", mistakes={
        "softmax over the wrong axis (normalise each row, dim=1)": torch.softmax(z, dim=0)})


def _expected_layers(in_features, hidden, out_features):
    """torch's own layers with the shapes the assignment asks for."""
    sizes = [in_features, *hidden, out_features]
    return torch.nn.Sequential(*[torch.nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])]).double()


@pytest.mark.points(10)
@pytest.mark.public
def test_mlp_shapes(student):
    for hidden in ([H1, H2], [H1], []):
        model = student.MLP(D, hidden, C)
        model.double()
        model.eval()
        checks.copy_parameters(checks.state_dict_of(model), _expected_layers(D, hidden, C), "MLP")
        checks.assert_shape(model(randn(N, D)), (N, C), f"MLP({D}, {hidden}, {C}) output for x of shape ({N}, {D})")
