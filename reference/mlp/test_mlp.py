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


# Part 1: linear regression by hand

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
def test_gradient_step(student):
    w, b, dw, db = randn(D), torch.tensor(0.5, dtype=torch.float64), randn(D, seed=1), torch.tensor(
        2.0, dtype=torch.float64)
    got = student.gradient_step(w, b, dw, db, 0.1)
    if not isinstance(got, tuple) or len(got) != 2:
        raise CheckFailed("gradient_step must return a pair (w, b)")
    uphill = "the step goes uphill: the update is w - lr * dw, not w + lr * dw"
    checks.assert_close(got[0], w - 0.1 * dw, "new w", mistakes={uphill: w + 0.1 * dw})
    checks.assert_close(got[1], b - 0.1 * db, "new b", mistakes={uphill: b + 0.1 * db})


# Part 2: stacking linear layers

@pytest.mark.points(5)
def test_collapse_linear(student):
    W1, b1, W2, b2 = randn(H1, D), randn(H1, seed=1), randn(C, H1, seed=2), randn(C, seed=3)
    got = student.collapse_linear(W1, b1, W2, b2)
    if not isinstance(got, tuple) or len(got) != 2:
        raise CheckFailed("collapse_linear must return a pair (W, b)")
    x = randn(D, seed=4)
    checks.assert_close(got[0], W2 @ W1, "W")
    checks.assert_close(got[1], W2 @ b1 + b2, "b", mistakes={
        "the first layer's bias is lost: it passes through W2 (W2 @ b1 + b2)": b2})
    checks.assert_close(got[0] @ x + got[1], W2 @ (W1 @ x + b1) + b2, "the collapsed layer applied to x")


# Part 3: activations

@pytest.mark.points(5)
@pytest.mark.public
def test_activations(student):
    z = 3 * randn(N, C)
    checks.assert_close(student.relu(z), torch.relu(z), "relu(z)")
    checks.assert_close(student.sigmoid(z), torch.sigmoid(z), "sigmoid(z)")
    checks.assert_close(student.tanh(z), torch.tanh(z), "tanh(z)")


@pytest.mark.points(5)
def test_activation_derivatives_match_autograd(student):
    z = 3 * randn(N, C, seed=5)
    z = torch.where(z.abs() < 1e-3, torch.full_like(z, 0.5), z)  # keep away from ReLU's kink
    for name, f in (("relu", torch.relu), ("sigmoid", torch.sigmoid), ("tanh", torch.tanh)):
        x = z.clone().requires_grad_(True)
        (expected,) = torch.autograd.grad(f(x).sum(), x)
        checks.assert_rel_error(getattr(student, f"{name}_grad")(z), expected, f"{name}_grad(z)", max_error=1e-7)


# Part 4: softmax and cross-entropy

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


@pytest.mark.points(5)
def test_cross_entropy(student):
    z, y = 2 * randn(N, C), torch.tensor([0, 4, 2, 1, 3, 3, 0, 4, 1])
    checks.assert_close(student.cross_entropy(z, y), F.cross_entropy(z, y), "cross_entropy(z, y)", mistakes={
        "the loss is summed over the batch, not averaged": F.cross_entropy(z, y, reduction="sum"),
        "the log is missing: cross-entropy averages -log p(correct class)":
            -torch.softmax(z, 1).gather(1, y[:, None]).mean()})


# Part 5: the MLP module

def _student_mlp(student, reference, *args, **kwargs):
    """The student's MLP in float64, with its weights copied into a float64 reference MLP."""
    model = student.MLP(*args, **kwargs)
    model.double()
    ours = reference.MLP(*args, **kwargs).double()
    checks.copy_parameters(checks.state_dict_of(model), ours, "MLP")
    return model, ours


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


def _linear_layers(module):
    return [m for m in module.modules() if isinstance(m, torch.nn.Linear)]


@pytest.mark.points(10)
def test_mlp_matches_reference(student, reference):
    model, ours = _student_mlp(student, reference, D, [H1, H2], C)
    model.eval()
    ours.eval()
    x = randn(N, D)
    expected = ours(x).detach()
    no_activation = x
    for layer in _linear_layers(ours):
        no_activation = layer(no_activation)
    checks.assert_close(model(x), expected, "MLP output (logits) with your weights", mistakes={
        "no nonlinearity between the layers: the MLP collapses to one linear map": no_activation.detach(),
        "softmax applied to the output: return raw logits (cross-entropy applies log-softmax itself)":
            torch.softmax(expected, dim=1),
        "ReLU after the last layer: the output layer must stay linear": torch.relu(expected)})


# Part 6: training and prediction
# train_step and predict are checked on a model built from torch's own layers inside the worker, with
# weights sent from here, so a mistake in the student's MLP class costs points only in the MLP tests.

def _torch_mlp(nn, dropout=0.0):
    """Linear(D, H1) -> ReLU -> Dropout -> Linear(H1, C), from the given torch.nn, in float64."""
    return nn.Sequential(nn.Linear(D, H1), nn.ReLU(), nn.Dropout(dropout), nn.Linear(H1, C)).double()


def _worker_model(student, ours, dropout=0.0):
    model = _torch_mlp(student.torch.nn, dropout)
    model.load_state_dict({k: v.clone() for k, v in ours.state_dict().items()})
    return model


def _sgd_steps(model, X, y, steps, lr, *, zero_grad=True, softmax_first=False):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(steps):
        if zero_grad:
            optimizer.zero_grad()
        logits = model(X)
        F.cross_entropy(torch.softmax(logits, dim=1) if softmax_first else logits, y).backward()
        optimizer.step()
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.points(10)
def test_train_step_updates_like_sgd(student):
    X, y = randn(N, D), torch.tensor([0, 4, 2, 1, 3, 3, 0, 4, 1])
    torch.manual_seed(0)
    ours = _torch_mlp(torch.nn)
    start = {k: v.clone() for k, v in ours.state_dict().items()}
    model = _worker_model(student, ours)
    optimizer = student.torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(2):
        student.train_step(model, optimizer, X, y)
    after = list(checks.state_dict_of(model).values())

    def variant(**kwargs):
        ours = _torch_mlp(torch.nn)
        ours.load_state_dict(start)
        return _sgd_steps(ours, X, y, 2, 0.5, **kwargs)

    if all(torch.equal(a, s) for a, s in zip(after, start.values())):
        raise CheckFailed("two calls of train_step left the parameters unchanged: call optimizer.step()")
    for i, (got, want) in enumerate(zip(after, variant())):
        checks.assert_close(got, want, f"parameter {i} after two train_step calls with SGD(lr=0.5)", mistakes={
            "gradients accumulate across steps: call optimizer.zero_grad() before backward()":
                variant(zero_grad=False)[i],
            "softmax applied before the cross-entropy loss: pass raw logits to F.cross_entropy":
                variant(softmax_first=True)[i]})


@pytest.mark.points(5)
def test_predict_uses_eval_mode(student):
    torch.manual_seed(0)
    ours = _torch_mlp(torch.nn, dropout=0.5)
    model = _worker_model(student, ours, dropout=0.5)
    x = randn(64, D)
    first = checks.assert_shape(student.predict(model, x), (64,), "predict(model, x)")
    second = checks.expect_tensor(student.predict(model, x), "predict(model, x)")
    if not torch.equal(first, second):
        raise CheckFailed("predict gives different answers for the same input: dropout is still active. "
                          "Call model.eval() before predicting")
    checks.assert_close(first, ours.eval()(x).argmax(dim=1), "predicted labels")


@pytest.mark.points(15)
def test_digits_accuracy(student):
    X_train, y_train, X_test, y_test = digits_split(seed=0)
    model = student.MLP(64, [64], 10)
    student.train(model, X_train, y_train, epochs=10, lr=1e-2, batch_size=64, seed=0)
    accuracy = checks.accuracy(student.predict(model, X_test), y_test, "predict(model, X_test)")
    checks.assert_at_least(accuracy, 0.93, "held-out accuracy after 10 epochs of Adam (lr=0.01)")
