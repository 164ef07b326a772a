"""Graded tests for the MLP assignment (100 points).

Sizes differ in every dimension so that swapped axes cannot pass by coincidence; forward and gradient
checks run in float64; module checks copy the student's weights into the reference. An exception that proves
its mistake by itself (a name read before anything was assigned to it) fails the test with that mistake named.
"""
import math

import pytest
import torch
import torch.nn.functional as F

from autograder import checks
from autograder.checks import CheckFailed
from autograder.datasets import digits_split
from autograder.errors import StudentCodeError
from autograder.remote import RemoteObject, manual_seed, observe

N, D, H1, H2, C = 9, 13, 11, 7, 5


def randn(*shape, seed=0):
    return torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


def returned_tensor(value, call):
    """What a student's function returned, as a tensor; a failure that names what came back instead."""
    if value is None:
        raise CheckFailed(f"{call} returned None: is its return statement missing?")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise CheckFailed(f"{call} returned a Python {type(value).__name__}: return the tensor itself "
                          "(no .item() or float())")
    return checks.expect_tensor(value, call)


def mistaken(name, mistake):
    """A failure that names the mistake, as the checks' own diagnoses do."""
    return CheckFailed(f"{name}: likely mistake: {mistake}")


naming_mistakes = checks.naming_mistakes()  # a name read before anything was assigned to it, named


# Part 1: linear regression by hand

@pytest.mark.points(5)
@pytest.mark.public
@naming_mistakes
def test_linear_forward(student):
    X, w, b = randn(N, D), randn(D, seed=1), torch.tensor(0.7, dtype=torch.float64)
    got = returned_tensor(student.linear_forward(X, w, b), "linear_forward(X, w, b)")
    checks.assert_close(got, X @ w + b, "linear_forward(X, w, b)", mistakes={
        "the bias is subtracted: y_hat = X w + b": X @ w - b,
        "the bias b is not added: y_hat = X w + b": X @ w})


@pytest.mark.points(5)
@pytest.mark.public
@naming_mistakes
def test_mse_loss(student):
    y_hat, y = randn(N), randn(N, seed=1)
    got = returned_tensor(student.mse_loss(y_hat, y), "mse_loss(y_hat, y)")
    checks.assert_close(got, ((y_hat - y) ** 2).mean(), "mse_loss(y_hat, y)", mistakes={
        "the squared errors are summed, not averaged over the N samples": ((y_hat - y) ** 2).sum(),
        "the residual is y_hat + y, not y_hat - y": ((y_hat + y) ** 2).mean(),
        "the errors are doubled, not squared: (y_hat - y) ** 2, not (y_hat - y) * 2": ((y_hat - y) * 2).mean()})


@pytest.mark.points(10)
@pytest.mark.public
@naming_mistakes
def test_mse_gradients_match_finite_differences(student):
    X, y, w, b = randn(N, D), randn(N, seed=1), randn(D, seed=2), torch.tensor(-0.3, dtype=torch.float64)

    def loss_of_w(w_):
        return ((X @ w_ + b - y) ** 2).mean()

    def loss_of_b(b_):
        return ((X @ w + b_ - y) ** 2).mean()

    call = observe(student.mse_gradients, X, y, w, b)
    got = call.output
    if not isinstance(got, tuple) or len(got) != 2:
        raise CheckFailed("mse_gradients must return a pair (dw, db)")
    dw = returned_tensor(got[0], "dL/dw from mse_gradients")
    db = returned_tensor(got[1], "dL/db from mse_gradients")
    r, r_plus = X @ w + b - y, X @ w + b + y  # (N,)
    wrong_residual = "the residual is y_hat - y, not y_hat + y"
    try:
        checks.assert_gradient(dw, loss_of_w, w, "dL/dw from mse_gradients", mistakes={
            "the factor 2 from differentiating the square is missing": 1.0 / N * (X.T @ r),
            wrong_residual: 2.0 / N * (X.T @ r_plus),
            "dL/dw is zero everywhere: the factor in front of X^T r is 2/N": torch.zeros(D, dtype=torch.float64),
            "the constant 2/N is divided by X^T r, not multiplied: dL/dw = (2/N) X^T r": 2.0 / N / (X.T @ r)})
        checks.assert_gradient(db, loss_of_b, b, "dL/db from mse_gradients", mistakes={
            "the factor 2 from differentiating the square is missing": 1.0 / N * r.sum(),
            wrong_residual: 2.0 / N * r_plus.sum(),
            "dL/db is zero: the factor in front of the sum of residuals is 2/N": torch.zeros((), dtype=torch.float64),
            "N multiplies the sum of residuals instead of dividing it: dL/db = (2/N) * sum(r)": 2.0 * N * r.sum(),
            "the constant 2/N is divided by the sum of residuals, not multiplied: dL/db = (2/N) * sum(r)":
                2.0 / N / r.sum()})
    except CheckFailed:
        if not _derived_from_a_wrong_forward(student, X, y, w, b, dw, db):
            raise
    if call.recorded_graph:
        raise CheckFailed("mse_gradients builds an autograd graph: the notebook asks for the derived formulas, "
                          "dL/dw = (2/N) X^T r and dL/db = (2/N) sum(r), computed directly, without .backward() "
                          "or torch.autograd")


def _derived_from_a_wrong_forward(student, X, y, w, b, dw, db):
    """Whether (dw, db) are the derived formulas applied to the student's own linear_forward, which is wrong:
    test_linear_forward takes the points for that, and gradients derived right from it cost nothing more."""
    try:
        own = student.linear_forward(X, w, b)
    except StudentCodeError:
        return False
    if not isinstance(own, torch.Tensor) or own.shape != (N,) or torch.allclose(own.double(), X @ w + b):
        return False
    r = own.double() - y  # (N,)
    return dw.shape == (D,) and db.shape == () and torch.allclose(dw.double(), 2.0 / N * (X.T @ r)) \
        and torch.allclose(db.double(), 2.0 / N * r.sum())


@pytest.mark.points(5)
@naming_mistakes
def test_gradient_step(student):
    w, b, dw, db = randn(D), torch.tensor(0.5, dtype=torch.float64), randn(D, seed=1), torch.tensor(
        2.0, dtype=torch.float64)
    call = observe(student.gradient_step, w, b, dw, db, 0.1)
    got = call.output
    if not isinstance(got, tuple) or len(got) != 2:
        raise CheckFailed("gradient_step must return a pair (w, b)")
    uphill = "the step goes uphill: the update is w - lr * dw, not w + lr * dw"
    divided = "the learning rate is divided by the gradient: the step is lr * dw"
    checks.assert_close(returned_tensor(got[0], "new w"), w - 0.1 * dw, "new w",
                        mistakes={uphill: w + 0.1 * dw, divided: w - 0.1 / dw})
    checks.assert_close(returned_tensor(got[1], "new b"), b - 0.1 * db, "new b",
                        mistakes={uphill: b + 0.1 * db, divided: b - 0.1 / db})
    if call.changed:
        names = {"argument 1": "w", "argument 2": "b", "argument 3": "dw", "argument 4": "db"}
        changed = ", ".join(names[place] for place in call.changed)
        raise CheckFailed(f"gradient_step changed its input {changed} in place (w -= ... or w.sub_(...)): return "
                          "new tensors, w - lr * dw and b - lr * db, and leave the inputs as they were")


# Part 2: stacking linear layers

@pytest.mark.points(5)
@naming_mistakes
def test_collapse_linear(student):
    W1, b1, W2, b2 = randn(H1, D), randn(H1, seed=1), randn(C, H1, seed=2), randn(C, seed=3)
    got = student.collapse_linear(W1, b1, W2, b2)
    if not isinstance(got, tuple) or len(got) != 2:
        raise CheckFailed("collapse_linear must return a pair (W, b)")
    x = randn(D, seed=4)
    W, b = returned_tensor(got[0], "W"), returned_tensor(got[1], "b")
    checks.assert_close(W, W2 @ W1, "W")
    checks.assert_close(b, W2 @ b1 + b2, "b", mistakes={
        "the first layer's bias is lost: it passes through W2 (W2 @ b1 + b2)": b2,
        "the second layer's bias is subtracted: b = W2 @ b1 + b2": W2 @ b1 - b2})
    checks.assert_close(W @ x + b, W2 @ (W1 @ x + b1) + b2, "the collapsed layer applied to x")


# Part 3: activations
# When a function's values are wrong, the property of the function they break names the mistake. The
# properties are looked at on a few probe points only then, so a right answer never meets them.

PROBES = torch.tensor([[-3.0, -1.0, -0.25, -1e-3, 0.0, 1e-3, 0.25, 1.0, 3.0]], dtype=torch.float64)  # (1, 9)


def pointwise(holds):
    """A property that holds at every probe point z with value v: the first point where it does not."""
    def first_violation(z, v):
        bad = ~holds(z, v)
        return (float(z[bad][0]), float(v[bad][0])) if bad.any() else None
    return first_violation


def slope_at_zero(expected):
    """A property of the slope at 0, from the probes at -0.001 and 0.001."""
    def first_violation(z, v):
        slope = float(v[5] - v[3]) / 2e-3
        return None if abs(slope - expected) < 1e-3 * max(1.0, expected) else ("slope at 0", slope)
    return first_violation


def even(z, v):
    return torch.isclose(v, v.flip(0), atol=1e-12)


PROPERTIES = {
    "relu": [
        ("relu(z) is 0 for every z < 0", pointwise(lambda z, v: (z >= 0) | (v == 0))),
        ("relu(z) is z itself for every z > 0: max(0, z)", pointwise(lambda z, v: (z <= 0) | torch.isclose(v, z))),
    ],
    "sigmoid": [
        ("sigmoid(0) is 1 / (1 + e^0) = 0.5", pointwise(lambda z, v: (z != 0) | torch.isclose(v, 0.5 + 0 * v))),
        ("sigmoid(z) lies strictly between 0 and 1", pointwise(lambda z, v: (v > 0) & (v < 1))),
        ("sigmoid(z) increases with z: the exponent is e^(-z)",
         pointwise(lambda z, v: torch.cat([v[:1] == v[:1], v[1:] > v[:-1]]))),
    ],
    "tanh": [
        ("tanh(0) is 0", pointwise(lambda z, v: (z != 0) | (v.abs() < 1e-12))),
        ("tanh(z) lies strictly between -1 and 1", pointwise(lambda z, v: (v > -1) & (v < 1))),
        ("tanh is odd, tanh(-z) = -tanh(z)", pointwise(lambda z, v: torch.isclose(v, -v.flip(0), atol=1e-12))),
        ("tanh(z) is close to z near 0, its slope at 0 is 1: check both factors 2 in 2 sigmoid(2z) - 1",
         slope_at_zero(1.0)),
    ],
    "relu_grad": [
        ("relu_grad(z) is 0 for every z < 0", pointwise(lambda z, v: (z >= 0) | (v == 0))),
        ("relu_grad(z) is 1 for every z > 0", pointwise(lambda z, v: (z <= 0) | (v == 1))),
        ("relu_grad(0) is 0, as in the table: the derivative is 1 only where z > 0 (z > 0, not z >= 0)",
         pointwise(lambda z, v: (z != 0) | (v == 0))),
    ],
    "sigmoid_grad": [
        ("sigmoid_grad(0) is sigmoid(0) (1 - sigmoid(0)) = 0.25",
         pointwise(lambda z, v: (z != 0) | torch.isclose(v, 0.25 + 0 * v))),
        ("sigmoid_grad(z) = sigmoid(z) (1 - sigmoid(z)) lies in (0, 0.25]",
         pointwise(lambda z, v: (v > 0) & (v <= 0.25 + 1e-12))),
        ("sigmoid_grad is even, sigmoid_grad(-z) = sigmoid_grad(z)", pointwise(even)),
    ],
    "tanh_grad": [
        ("tanh_grad(0) is 1 - tanh(0)^2 = 1", pointwise(lambda z, v: (z != 0) | torch.isclose(v, 1 + 0 * v))),
        ("tanh_grad(z) = 1 - tanh(z)^2 lies in (0, 1]", pointwise(lambda z, v: (v > 0) & (v <= 1 + 1e-12))),
        ("tanh_grad is even, tanh_grad(-z) = tanh_grad(z): is tanh(z) squared?", pointwise(even)),
    ],
}


def broken_property(student, name):
    """A failure naming the first property of `name` (an activation or a derivative) that the student's
    function breaks on the probe points, or None."""
    try:
        values = getattr(student, name)(PROBES)
    except StudentCodeError:
        return None
    if not isinstance(values, torch.Tensor) or values.shape != PROBES.shape:
        return None
    z, v = PROBES[0], values[0].double()
    for statement, first_violation in PROPERTIES[name]:
        found = first_violation(z, v)
        if found is not None:
            where = found[0] if isinstance(found[0], str) else f"{name}({found[0]:g})"
            return mistaken(f"{name}(z)", f"{statement} (yours gives {where} = {found[1]:.6g})")
    return None


def check_activation(student, name, got, expected, *, mistakes=None, max_error=None):
    """Compare one function's values with the expected ones; on a mismatch that the comparison cannot name,
    say which of the function's properties is broken."""
    got = returned_tensor(got, f"{name}(z)")
    try:
        if max_error is None:
            checks.assert_close(got, expected, f"{name}(z)", mistakes=mistakes)
        else:
            checks.assert_rel_error(got, expected, f"{name}(z)", max_error=max_error, mistakes=mistakes)
    except CheckFailed as failure:
        if checks.names_a_mistake(str(failure)):
            raise
        raise broken_property(student, name) or failure from None


@pytest.mark.points(5)
@pytest.mark.public
@naming_mistakes
def test_activations(student):
    z = 3 * randn(N, C)
    relu = observe(student.relu, z)  # each checked before the next runs: tanh may call a broken sigmoid
    check_activation(student, "relu", relu.output, torch.relu(z))
    sigmoid = observe(student.sigmoid, z)
    check_activation(student, "sigmoid", sigmoid.output, torch.sigmoid(z), mistakes={
        "the sign of the exponent is lost: sigmoid(z) = 1 / (1 + e^(-z))": torch.sigmoid(-z)})
    tanh = observe(student.tanh, z)
    check_activation(student, "tanh", tanh.output, torch.tanh(z))
    for name, call in (("relu", relu), ("sigmoid", sigmoid), ("tanh", tanh)):
        built_in = [f for f in call.called if f.rsplit(".", 1)[-1].rstrip("_") in BUILT_IN_ACTIVATIONS]
        if built_in:
            raise CheckFailed(f"{name}(z) calls {built_in[0]}: the notebook asks for tensor arithmetic (a comparison, "
                              "torch.where, torch.exp), not torch.relu, torch.sigmoid or torch.tanh")


BUILT_IN_ACTIVATIONS = {"relu", "sigmoid", "tanh", "expit"}


@pytest.mark.points(5)
@naming_mistakes
def test_activation_derivatives_match_autograd(student):
    z = 3 * randn(N, C, seed=5)
    z = torch.where(z.abs() < 1e-3, torch.full_like(z, 0.5), z)
    z[0, 0] = z[3, 2] = 0.0  # ReLU's kink: the table says relu'(0) = 0, as torch has it
    for name, f in (("relu", torch.relu), ("sigmoid", torch.sigmoid), ("tanh", torch.tanh)):
        x = z.clone().requires_grad_(True)
        (expected,) = torch.autograd.grad(f(x).sum(), x)
        got = returned_tensor(getattr(student, f"{name}_grad")(z), f"{name}_grad(z)")
        try:
            check_activation(student, f"{name}_grad", got, expected, max_error=1e-7)
        except CheckFailed:
            if name == "relu" or not _derived_from_a_wrong_activation(student, name, z, got):
                raise


def _derived_from_a_wrong_activation(student, name, z, got):
    """Whether `got` is the table's derivative formula applied to the student's own activation, which is
    wrong: test_activations takes the points for that, and a derivative derived right from it costs nothing."""
    try:
        own = getattr(student, name)(z)
    except StudentCodeError:
        return False
    if not isinstance(own, torch.Tensor) or own.shape != z.shape:
        return False
    own = own.double()
    if torch.allclose(own, getattr(torch, name)(z)):
        return False
    formula = own * (1 - own) if name == "sigmoid" else 1 - own ** 2
    return got.shape == z.shape and bool(torch.allclose(got.double(), formula))


# Part 4: softmax and cross-entropy

@pytest.mark.points(5)
@pytest.mark.public
@naming_mistakes
def test_softmax(student):
    z = randn(N, C)
    z[0] += 1000.0  # large logits: exp overflows unless the row maximum is subtracted first
    got = returned_tensor(student.softmax(z), "softmax(z)")
    if got.shape == z.shape and torch.isnan(got[0]).any() and not torch.isnan(got[1:]).any():
        raise CheckFailed("softmax(z) gives NaN for a row of large logits: exp overflows. Subtract each "
                          "row's maximum before exponentiating")
    column_max = torch.exp(z - z.max(dim=0, keepdim=True).values)  # (N, C)
    try:
        checks.assert_close(got, torch.softmax(z, dim=1), "softmax(z)", mistakes={
            "softmax over the wrong axis (normalise each row, dim=1)": torch.softmax(z, dim=0),
            "the maximum subtracted is each column's (dim=0), not each row's (dim=1)":
                column_max / column_max.sum(dim=1, keepdim=True),
            "the logits' sign is flipped: exponentiate z - max, not max - z": torch.softmax(-z, dim=1)})
    except CheckFailed as failure:
        if checks.names_a_mistake(str(failure)) or got.shape != z.shape or got.dtype != z.dtype \
                or not torch.isfinite(got).all():
            raise  # the check's own words say it best: a wrong type, NaN, a named variant
        rows = got.double().sum(dim=1)  # (N,)
        if not torch.allclose(rows, torch.ones(N, dtype=torch.float64)):
            i = int((rows - 1).abs().argmax())
            columns = " (your columns sum to 1: normalise each row, dim=1)" if torch.allclose(
                got.double().sum(dim=0), torch.ones(C, dtype=torch.float64)) else ""
            raise mistaken("softmax(z)", f"each row of probabilities sums to 1, but row {i} sums to "
                           f"{float(rows[i]):.6g}: divide each exponential by its row's sum{columns}") from None
        raise


@pytest.mark.points(5)
@naming_mistakes
def test_cross_entropy(student):
    z, y = 2 * randn(N, C), torch.tensor([0, 4, 2, 1, 3, 3, 0, 4, 1])
    got = returned_tensor(student.cross_entropy(z, y), "cross_entropy(z, y)")
    checks.assert_close(got, F.cross_entropy(z, y), "cross_entropy(z, y)", mistakes={
        "the loss is summed over the batch, not averaged": F.cross_entropy(z, y, reduction="sum"),
        "the log is missing: cross-entropy averages -log p(correct class)":
            -torch.softmax(z, 1).gather(1, y[:, None]).mean(),
        "the correct class's logit is added, not subtracted: the loss is log(sum(exp(z))) - z[y]":
            (torch.logsumexp(z, 1) + z.gather(1, y[:, None])[:, 0]).mean(),
        "the row maximum is added inside the exponential, not subtracted: log(sum(exp(z - m))) + m":
            (z.max(1).values + torch.log(torch.exp(z + z.max(1, keepdim=True).values).sum(1))
             - z.gather(1, y[:, None])[:, 0]).mean(),
        "the correct-class logits are gathered along dim 0, not dim 1: z[y[i], 0] instead of z[i, y[i]]":
            (torch.logsumexp(z, 1) - z.gather(0, y[:, None])[:, 0]).mean(),
        "the row maximum is added back with the wrong sign: log(sum(exp(z))) = m + log(sum(exp(z - m))), not "
        "m - log(...)": (2 * z.max(1).values - torch.logsumexp(z, 1) - z.gather(1, y[:, None])[:, 0]).mean(),
        "the log-sum-exp is negated: the loss is log(sum(exp(z))) - z[y], not -log(sum(exp(z))) - z[y]":
            (-torch.logsumexp(z, 1) - z.gather(1, y[:, None])[:, 0]).mean()})


# Part 5: the MLP module

def check_layer_sizes(model, in_features, hidden, out_features):
    """The student's parameters, after checking that its linear layers (their 2-d weights, in the order they
    were created) map in_features, then each hidden size, then out_features, one to the next."""
    state = checks.state_dict_of(model, "MLP")
    sizes = [in_features, *hidden, out_features]
    expected = list(zip(sizes[:-1], sizes[1:]))
    got = [(int(w.shape[1]), int(w.shape[0])) for w in state.values() if w.dim() == 2]  # (in, out) of each
    if got == expected:
        return state
    if [pair[::-1] for pair in got] == expected:
        mistake = "each nn.Linear maps out to in (transposed: are in_features and out_features swapped?)"
    elif len(got) < len(expected):
        mistake = "a layer is missing: one nn.Linear per hidden size, then one to out_features"
    elif len(got) > len(expected):
        mistake = "there are more linear layers than one per hidden size plus the output layer"
    else:
        mistake = "a layer does not take the size the layer before it gives"
    chain = ", ".join(f"{a} -> {b}" for a, b in got) or "nothing"
    raise mistaken(f"MLP({in_features}, {hidden}, {out_features})", f"{mistake}. Its linear layers map {chain}; "
                   "expected " + ", ".join(f"{a} -> {b}" for a, b in expected))


def _student_mlp(student, reference, *args, **kwargs):
    """The student's MLP in float64, with its weights copied into a float64 reference MLP."""
    model = student.MLP(*args, **kwargs)
    model.double()
    ours = reference.MLP(*args, **kwargs).double()
    checks.copy_parameters(check_layer_sizes(model, *args[:3]), ours, "MLP")
    return model, ours


def _expected_layers(in_features, hidden, out_features):
    """torch's own layers with the shapes the assignment asks for."""
    sizes = [in_features, *hidden, out_features]
    return torch.nn.Sequential(*[torch.nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])]).double()


@pytest.mark.points(10)
@pytest.mark.public
@naming_mistakes
def test_mlp_shapes(student):
    for hidden in ([H1, H2], [H1], []):
        model = student.MLP(D, hidden, C)
        model.double()
        model.eval()
        state = check_layer_sizes(model, D, hidden, C)
        checks.copy_parameters(state, _expected_layers(D, hidden, C), "MLP")
        call = f"MLP({D}, {hidden}, {C}) output for x of shape ({N}, {D})"
        checks.assert_shape(returned_tensor(model(randn(N, D)), call), (N, C), call)


def _linear_layers(module):
    return [m for m in module.modules() if isinstance(m, torch.nn.Linear)]


@pytest.mark.points(10)
@naming_mistakes
def test_mlp_matches_reference(student, reference):
    model, ours = _student_mlp(student, reference, D, [H1, H2], C)
    model.eval()
    ours.eval()
    x = randn(N, D)
    expected = ours(x).detach()
    no_activation = x
    for layer in _linear_layers(ours):
        no_activation = layer(no_activation)
    got = returned_tensor(model(x), "MLP output (logits) with your weights")
    checks.assert_close(got, expected, "MLP output (logits) with your weights", mistakes={
        "no nonlinearity between the layers: the MLP collapses to one linear map": no_activation.detach(),
        "softmax applied to the output: return raw logits (cross-entropy applies log-softmax itself)":
            torch.softmax(expected, dim=1),
        "ReLU after the last layer: the output layer must stay linear": torch.relu(expected)})


# Part 6: training and prediction
# train_step, train and predict are checked on a model built from torch's own layers inside the worker, with
# weights sent from here, so a mistake in the student's MLP class costs points only in the MLP tests.

LABELS = torch.tensor([0, 4, 2, 1, 3, 3, 0, 4, 1])  # (N,)


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


@pytest.mark.points(6)
@naming_mistakes
def test_train_step_updates_like_sgd(student):
    X, y = randn(N, D), LABELS
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


@pytest.mark.points(2)
@naming_mistakes
def test_train_step_returns_the_loss_as_a_float(student):
    X, y = randn(N, D, seed=1), LABELS
    torch.manual_seed(1)
    ours = _torch_mlp(torch.nn)
    model = _worker_model(student, ours)
    got = student.train_step(model, student.torch.optim.SGD(model.parameters(), lr=0.5), X, y)
    if got is None:
        raise CheckFailed("train_step returned None: return the batch's loss, loss.item()")
    if not isinstance(got, float):
        kind = "a tensor" if isinstance(got, torch.Tensor) else f"a {type(got).__name__}"
        raise CheckFailed(f"train_step must return the loss as a Python float (got {kind}): use loss.item()")
    logits = ours(X).detach()
    expected = F.cross_entropy(logits, y).item()
    if math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-12):
        return
    if math.isclose(got, -expected, rel_tol=1e-9):
        raise mistaken("train_step's returned loss", f"the sign is flipped: the cross-entropy {expected:.6g} is "
                       f"positive, got {got:.6g}")
    if math.isclose(got, F.cross_entropy(torch.softmax(logits, dim=1), y).item(), rel_tol=1e-9):
        return  # the loss it computes is wrong, and returned right: test_train_step_updates_like_sgd takes points
    raise CheckFailed(f"train_step returned {got:.6g}; the batch's cross-entropy before the update is "
                      f"{expected:.6g}: return loss.item() of the loss you backpropagate")


@pytest.mark.points(2)
@naming_mistakes
def test_train_step_switches_to_training_mode(student):
    torch.manual_seed(2)
    ours = _torch_mlp(torch.nn, dropout=0.5)
    model = _worker_model(student, ours, dropout=0.5)
    model.eval()  # as predict leaves it
    student.train_step(model, student.torch.optim.SGD(model.parameters(), lr=0.1), randn(N, D), LABELS)
    if model.training is not True or model[2].training is not True:
        raise CheckFailed("train_step left a model in evaluation mode (dropout off) after predict had put it "
                          "there: call model.train() first")


@pytest.mark.points(5)
@naming_mistakes
def test_predict_uses_eval_mode(student):
    torch.manual_seed(0)
    ours = _torch_mlp(torch.nn, dropout=0.5)
    model = _worker_model(student, ours, dropout=0.5)
    x = randn(64, D)
    first = returned_tensor(student.predict(model, x), "predict(model, x)")
    if tuple(first.shape) == (C,):
        raise mistaken("predict(model, x)", f"one value per class, shape ({C},): take the argmax over the "
                       "classes, dim=1, for one label per sample")
    if tuple(first.shape) == (64, C):
        raise mistaken("predict(model, x)", f"the scores of every class, shape (64, {C}): return the class "
                       "with the highest score, argmax over dim=1")
    checks.assert_shape(first, (64,), "predict(model, x)")
    second = checks.expect_tensor(student.predict(model, x), "predict(model, x)")
    if not torch.equal(first, second):
        raise CheckFailed("predict gives different answers for the same input: dropout is still active. "
                          "Call model.eval() before predicting")
    if first.is_floating_point() or first.min() < 0 or first.max() >= C:
        raise CheckFailed(f"predict(model, x) must return class indices 0..{C - 1} as integers, got values "
                          f"from {float(first.min()):g} to {float(first.max()):g}: the argmax of the logits")
    checks.assert_close(first, ours.eval()(x).argmax(dim=1), "predicted labels")
    if observe(student.predict, model, x).recorded_graph:
        raise CheckFailed("predict built an autograd graph while it ran: prediction needs no gradients, so run "
                          "the model under torch.no_grad()")


# train: twelve copies of one sample, so every shuffled order makes the same batches and the losses can be
# replayed here whatever order the student's generator draws; sizes and hyperparameters are not the defaults.
TRAIN_SAMPLES, TRAIN_BATCH, TRAIN_EPOCHS, TRAIN_LR = 12, 4, 3, 0.05


def _replay_train(ours, X, y, *, lr=TRAIN_LR, batch_size=TRAIN_BATCH, epochs=TRAIN_EPOCHS, reduce="mean"):
    """Epoch losses of Adam on the repeated sample, replayed on a copy of `ours`."""
    model = _torch_mlp(torch.nn)
    model.load_state_dict(ours.state_dict())
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    epoch_losses = []
    for _ in range(epochs):
        losses = []
        for start in range(0, len(X), batch_size):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(X[start:start + batch_size]), y[start:start + batch_size])
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        epoch_losses.append({"mean": sum(losses) / len(losses), "sum": sum(losses), "last": losses[-1]}[reduce])
    return torch.tensor(epoch_losses, dtype=torch.float64)


@pytest.mark.points(3)
@naming_mistakes
def test_train_returns_the_mean_loss_of_each_epoch(student):
    X = randn(1, D, seed=3).repeat(TRAIN_SAMPLES, 1)  # (12, D)
    y = torch.full((TRAIN_SAMPLES,), 3)  # (12,)
    torch.manual_seed(3)
    ours = _torch_mlp(torch.nn)
    model = _worker_model(student, ours)
    got = student.train(model, X, y, epochs=TRAIN_EPOCHS, lr=TRAIN_LR, batch_size=TRAIN_BATCH, seed=7)
    if got is None:
        raise CheckFailed("train returned None: return the list of each epoch's mean loss")
    if isinstance(got, RemoteObject):
        raise CheckFailed(f"train must return a list of numbers, one per epoch (got {got.remote_type})")
    try:
        losses = torch.tensor([float(loss) for loss in got], dtype=torch.float64)
    except (TypeError, ValueError):
        raise CheckFailed(f"train must return a list of numbers, one per epoch (got {type(got).__name__} "
                          f"{str(got)[:60]})") from None
    if len(losses) != TRAIN_EPOCHS:
        raise CheckFailed(f"train(..., epochs={TRAIN_EPOCHS}) returned {len(losses)} losses: append each "
                          "epoch's mean loss once, at the end of the epoch")
    try:
        checks.assert_close(losses, _replay_train(ours, X, y), f"the epoch losses train returns (Adam, lr={TRAIN_LR}, "
                            f"batch_size={TRAIN_BATCH}, {TRAIN_SAMPLES} samples)", rtol=1e-6, atol=1e-9, mistakes={
            "Adam runs with its default learning rate: pass lr=lr": _replay_train(ours, X, y, lr=1e-3),
            "the learning rate is fixed at train's default, 0.01: pass lr=lr to Adam":
                _replay_train(ours, X, y, lr=1e-2),
            f"batch_size is ignored: the epochs ran in batches of {TRAIN_SAMPLES} or more":
                _replay_train(ours, X, y, batch_size=TRAIN_SAMPLES),
            "each epoch's loss is the sum of its batch losses, not their mean": _replay_train(ours, X, y, reduce="sum"),
            "each epoch's loss is its last batch's, not the mean over its batches":
                _replay_train(ours, X, y, reduce="last")})
    except CheckFailed:
        own = _replay_with_students_step(student, ours, X, y)
        if own is None or not torch.allclose(losses, own, rtol=1e-6, atol=1e-9):
            raise


def _replay_with_students_step(student, ours, X, y):
    """The epoch losses train should return if it is right and the student's train_step is what it is: the
    batches replayed through that train_step in the worker. A mistake in train_step costs points in its own
    tests, not here."""
    model = _worker_model(student, ours)
    optimizer = student.torch.optim.Adam(model.parameters(), lr=TRAIN_LR)
    epoch_losses = []
    try:
        for _ in range(TRAIN_EPOCHS):
            losses = [student.train_step(model, optimizer, X[start:start + TRAIN_BATCH], y[start:start + TRAIN_BATCH])
                      for start in range(0, TRAIN_SAMPLES, TRAIN_BATCH)]
            epoch_losses.append(sum(float(loss) for loss in losses) / len(losses))
    except (StudentCodeError, TypeError, ValueError):
        return None
    return torch.tensor(epoch_losses, dtype=torch.float64)


@pytest.mark.points(2)
@naming_mistakes
def test_train_shuffles_with_its_seeded_generator(student):
    X, y = randn(TRAIN_SAMPLES, D, seed=4), torch.arange(TRAIN_SAMPLES) % C
    torch.manual_seed(4)
    ours = _torch_mlp(torch.nn)

    def trained(seed, global_seed):
        manual_seed(student, global_seed)  # the global random state differs between calls
        model = _worker_model(student, ours)
        student.train(model, X, y, epochs=2, lr=TRAIN_LR, batch_size=TRAIN_BATCH, seed=seed)
        return list(checks.state_dict_of(model).values())

    first, again, other = trained(5, 0), trained(5, 1), trained(6, 0)
    if not all(torch.equal(a, b) for a, b in zip(first, again)):
        raise CheckFailed("train with the same seed gave different results once the global random state had "
                          "moved on: shuffle with torch.Generator().manual_seed(seed) (generator=...), not the "
                          "global random state")
    if all(torch.equal(a, b) for a, b in zip(first, other)):
        raise CheckFailed("train gave the same result for seeds 5 and 6: shuffle every epoch, with a "
                          "torch.Generator seeded with seed")


@pytest.mark.points(10)
@naming_mistakes
def test_digits_accuracy(student, reference):
    # The student's MLP is trained in the worker by the student's train; its trained weights are copied into the
    # reference's MLP and judged here, on held-out digits the worker never sees.
    X_train, y_train, X_test, y_test = digits_split(seed=0)
    model = student.MLP(64, [64], 10)
    student.train(model, X_train, y_train, epochs=10, lr=1e-2, batch_size=64, seed=0)
    ours = reference.MLP(64, [64], 10)
    checks.copy_parameters(check_layer_sizes(model, 64, [64], 10), ours, "MLP")
    ours.eval()
    with torch.no_grad():
        predictions = ours(X_test).argmax(dim=1)  # (N_test,)
    accuracy = checks.accuracy(predictions, y_test, "your trained MLP's weights on held-out digits")
    # Full marks from 0.93 (a correct MLP reaches about 0.96); half for a model that learns, but not well.
    checks.tiers(accuracy, [(0.93, 1.0), (0.85, 0.5)], "held-out accuracy after 10 epochs of Adam (lr=0.01)")
