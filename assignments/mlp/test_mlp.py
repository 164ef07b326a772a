"""Graded tests for the MLP assignment (100 points).

Sizes differ in every dimension so that swapped axes cannot pass by coincidence; forward and gradient
checks run in float64; module checks copy the student's weights into the reference. An exception that proves
its mistake by itself (a name read before anything was assigned to it) fails the test with that mistake named.
"""


import pytest
import torch
from autograder import checks
from autograder.checks import CheckFailed
from autograder.errors import StudentCodeError
from autograder.remote import observe
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
