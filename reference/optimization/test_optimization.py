"""Graded tests for the optimization assignment (100 points).

The update rules are checked step by step against torch.optim: the student's optimizer is built in the
worker on parameters we send, every step is driven by gradients we choose (the notebook's locked
`set_gradients`), and after each step the parameters come back and are compared in float64 with what
torch.optim computes here from the same start and the same gradients. Known mistakes are simulated here
on the same inputs so that a failure names them. The training loop is checked on copied weights against
the reference; the race between the optimizers is judged on held-out points the worker never sees.
"""
import copy

import pytest
import torch
import torch.nn.functional as F

from autograder import checks
from autograder.checks import CheckFailed
from autograder.errors import StudentCodeError
from autograder.remote import RemoteObject

SHAPES = [(3, 5), (7,)]  # two parameters, sizes that differ in every dimension
MAX_REL_ERROR = 1e-8


def step_problem(seed, steps):
    """Start values and one gradient per parameter per step, float64, gradients spanning 1e-2 to ~3."""
    generator = torch.Generator().manual_seed(seed)

    def randn(shape):
        return torch.randn(shape, generator=generator, dtype=torch.float64)

    def scales(shape):
        return 10 ** (torch.rand(shape, generator=generator, dtype=torch.float64) * 2.5 - 2)

    start = [randn(shape) for shape in SHAPES]
    gradients = [[randn(shape) * scales(shape) for shape in SHAPES] for _ in range(steps)]
    return start, gradients


# What the parameters should be: torch.optim on the same start and gradients.

def torch_trajectory(optimizer_class, start, gradients, **hyperparameters):
    """The parameters after each step of a torch.optim optimizer fed the given gradients."""
    params = [p.clone().requires_grad_() for p in start]
    optimizer = optimizer_class(params, **hyperparameters)
    trajectory = []
    for grads in gradients:
        for p, g in zip(params, grads):
            p.grad = g.clone()
        optimizer.step()
        trajectory.append([p.detach().clone() for p in params])
    return trajectory


# Known mistakes, simulated on the same start and gradients.

SGD_UPHILL = "the step goes uphill: θ + lr·g instead of θ − lr·g"
VELOCITY_ORDER = ("velocity updated in the wrong order: the step used the old velocity; first update "
                  "v ← μ·v + g, then step with the new one, θ ← θ − lr·v")
VELOCITY_AVERAGED = ("the velocity is an average, v ← μ·v + (1 − μ)·g; torch's momentum adds the whole "
                     "gradient, v ← μ·v + g")
MOMENTUM_IGNORED = "the momentum is ignored: this is plain gradient descent"
STEP_FROM_ZERO = ("step counter starting at 0: the first update must use t = 1 (increment the count before "
                  "using it); with t = 0 the bias correction 1 − β^0 is 0 and divides by zero")
EPS_INSIDE_SQRT = "eps inside the square root: the denominator is √v̂ + ε, not √(v̂ + ε)"


def no_bias_correction(betas):
    beta1, beta2 = betas
    factor = (1 - beta1) / (1 - beta2) ** 0.5
    return (f"missing bias correction: m and v are used without dividing by 1 − β1^t and 1 − β2^t, so "
            f"Adam's first step moves each weight by about (1 − β1)/√(1 − β2)·lr = {factor:.3g}·lr "
            f"instead of lr")


def sgd_trajectory(start, gradients, lr, uphill=False):
    params, trajectory = [p.clone() for p in start], []
    for grads in gradients:
        params = [p + lr * g if uphill else p - lr * g for p, g in zip(params, grads)]
        trajectory.append(params)
    return trajectory


def momentum_trajectory(start, gradients, lr, momentum, mistake):
    params, velocity, trajectory = [p.clone() for p in start], [torch.zeros_like(p) for p in start], []
    for grads in gradients:
        for i, g in enumerate(grads):
            if mistake == VELOCITY_ORDER:
                params[i] = params[i] - lr * velocity[i]
                velocity[i] = momentum * velocity[i] + g
            elif mistake == VELOCITY_AVERAGED:
                velocity[i] = momentum * velocity[i] + (1 - momentum) * g
                params[i] = params[i] - lr * velocity[i]
            elif mistake == MOMENTUM_IGNORED:
                params[i] = params[i] - lr * g
        trajectory.append([p.clone() for p in params])
    return trajectory


def adam_trajectory(start, gradients, lr, betas, eps, mistake):
    (beta1, beta2), trajectory = betas, []
    params = [p.clone() for p in start]
    m, v = [torch.zeros_like(p) for p in start], [torch.zeros_like(p) for p in start]
    for step, grads in enumerate(gradients, start=1):
        t = step - 1 if mistake == STEP_FROM_ZERO else step
        for i, g in enumerate(grads):
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = beta2 * v[i] + (1 - beta2) * g * g
            if mistake == no_bias_correction(betas):
                m_hat, v_hat = m[i], v[i]
            else:
                m_hat, v_hat = m[i] / (1 - beta1 ** t), v[i] / (1 - beta2 ** t)
            denominator = (v_hat + eps).sqrt() if mistake == EPS_INSIDE_SQRT else v_hat.sqrt() + eps
            params[i] = params[i] - lr * m_hat / denominator
        trajectory.append([p.clone() for p in params])
    return trajectory


# Driving the student's optimizer in the worker.

def assert_step_matches(actual, expected, name, mistakes):
    """assert_rel_error, and a mistake that makes NaN is named too (NaN never compares close to NaN)."""
    got = checks.expect_tensor(actual, name)
    for mistake, wrong in mistakes.items():
        if got.shape == wrong.shape and torch.isnan(got).any() \
                and torch.equal(torch.isnan(got), torch.isnan(wrong)):
            raise CheckFailed(f"{name}: {int(torch.isnan(got).sum())} of {got.numel()} values are NaN. "
                              f"Likely mistake: {mistake}")
    checks.assert_rel_error(got, expected, name, max_error=MAX_REL_ERROR, mistakes=mistakes)


def check_against_torch(student, class_name, torch_class, hyperparameters, start, gradients, wrong):
    """Build student.<class_name> on `start` in the worker, step it with `gradients` and compare every step.

    `wrong` maps the name of a mistake to the trajectory that mistake produces.
    """
    params = student.as_parameters(start)  # an nn.ParameterList in the worker
    optimizer = getattr(student, class_name)(params.parameters(), **hyperparameters)
    expected = torch_trajectory(torch_class, start, gradients, **hyperparameters)
    for t, grads in enumerate(gradients, start=1):
        student.set_gradients(params, grads)
        try:
            optimizer.step()
        except StudentCodeError as error:
            if error.type_name == "ZeroDivisionError" and t == 1 and STEP_FROM_ZERO in wrong:
                raise CheckFailed(f"{class_name}.step() divided by zero on the first step. "
                                  f"Likely mistake: {STEP_FROM_ZERO}") from None
            if "leaf Variable that requires grad" in error.message:
                raise CheckFailed(f"{class_name}.step() changed a parameter in place while autograd was "
                                  "recording; decorate step with @torch.no_grad()") from None
            raise
        got = list(checks.state_dict_of(params, "the parameters").values())
        for i, value in enumerate(got):
            assert_step_matches(value, expected[t - 1][i],
                                f"{class_name}: parameter {i} {SHAPES[i]} after step {t}",
                                {mistake: trajectory[t - 1][i] for mistake, trajectory in wrong.items()})


@pytest.mark.points(10)
@pytest.mark.public
def test_sgd_matches_torch(student):
    start, gradients = step_problem(seed=1, steps=10)
    hyper = {"lr": 0.07}
    check_against_torch(student, "SGD", torch.optim.SGD, hyper, start, gradients,
                        {SGD_UPHILL: sgd_trajectory(start, gradients, **hyper, uphill=True)})


@pytest.mark.points(15)
@pytest.mark.public
def test_momentum_matches_torch_sgd_with_momentum(student):
    start, gradients = step_problem(seed=2, steps=12)
    hyper = {"lr": 0.05, "momentum": 0.8}
    wrong = {mistake: momentum_trajectory(start, gradients, **hyper, mistake=mistake)
             for mistake in (VELOCITY_ORDER, VELOCITY_AVERAGED, MOMENTUM_IGNORED)}
    check_against_torch(student, "Momentum", torch.optim.SGD, hyper, start, gradients, wrong)


def adam_mistakes(start, gradients, hyper):
    betas = hyper.get("betas", (0.9, 0.999))
    full = {"lr": hyper["lr"], "betas": betas, "eps": hyper.get("eps", 1e-8)}
    return {mistake: adam_trajectory(start, gradients, **full, mistake=mistake)
            for mistake in (no_bias_correction(betas), STEP_FROM_ZERO, EPS_INSIDE_SQRT)}


@pytest.mark.points(15)
@pytest.mark.public
def test_adam_matches_torch_with_default_betas_and_eps(student):
    start, gradients = step_problem(seed=3, steps=12)
    hyper = {"lr": 0.01}
    check_against_torch(student, "Adam", torch.optim.Adam, hyper, start, gradients,
                        adam_mistakes(start, gradients, hyper))


@pytest.mark.points(15)
def test_adam_matches_torch_with_other_hyperparameters(student):
    # A large eps makes its place (inside or outside the square root) visible; other betas make sure
    # they are read from the parameter group.
    start, gradients = step_problem(seed=4, steps=15)
    hyper = {"lr": 0.03, "betas": (0.8, 0.99), "eps": 1e-3}
    check_against_torch(student, "Adam", torch.optim.Adam, hyper, start, gradients,
                        adam_mistakes(start, gradients, hyper))


# The training loop.

MISSING_ZERO_GRAD = ("missing zero_grad: backward() adds into .grad, so without optimizer.zero_grad() every "
                     "step uses the sum of all gradients so far")
CLEARED_TOO_LATE = ("the gradients are cleared between backward() and step(), so every step sees zero "
                    "gradients and nothing moves")


def fit_without_zero_grad(model, optimizer, X, y, steps):
    losses = []
    for _ in range(steps):
        loss = F.mse_loss(model(X), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def fit_clearing_after_backward(model, optimizer, X, y, steps):
    losses = []
    for _ in range(steps):
        loss = F.mse_loss(model(X), y)
        loss.backward()
        optimizer.zero_grad()
        optimizer.step()
        losses.append(loss.item())
    return losses


def as_losses(value, steps, name):
    """fit's return value as a float64 tensor of `steps` losses."""
    if isinstance(value, torch.Tensor) and value.dim() == 1:
        value = value.tolist()
    items = value if isinstance(value, (list, tuple)) else None
    if items is None or len(items) != steps:
        got = f"{len(items)} values" if items is not None else f"a {type(value).__name__}"
        raise CheckFailed(f"{name}: expected a list of {steps} losses, one per step, got {got}")
    losses = []
    for item in items:
        if isinstance(item, torch.Tensor) and item.numel() == 1:
            item = item.item()
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            raise CheckFailed(f"{name}: every loss should be a float, got a {type(item).__name__}")
        losses.append(float(item))
    return torch.tensor(losses, dtype=torch.float64)


@pytest.mark.points(15)
def test_fit_trains_with_the_given_optimizer(student, reference):
    generator = torch.Generator().manual_seed(5)
    X = torch.rand(37, 1, generator=generator, dtype=torch.float64) * 4 - 2  # (37, 1)
    y = torch.randn(37, 1, generator=generator, dtype=torch.float64)  # (37, 1)
    steps, lr = 8, 0.1

    model = student.make_model(5, 12).double()
    ours = reference.make_model(0, 12).double()
    checks.copy_parameters(checks.state_dict_of(model), ours)
    starts = {MISSING_ZERO_GRAD: copy.deepcopy(ours), CLEARED_TOO_LATE: copy.deepcopy(ours)}

    # torch's own SGD in the worker, so that this test is about the loop, not about the update rule.
    optimizer = student.torch.optim.SGD(model.parameters(), lr=lr)
    losses = as_losses(student.fit(model, optimizer, X, y, steps), steps, "the losses returned by fit")

    expected = reference.fit(ours, torch.optim.SGD(ours.parameters(), lr=lr), X, y, steps)
    wrong = {MISSING_ZERO_GRAD: fit_without_zero_grad, CLEARED_TOO_LATE: fit_clearing_after_backward}
    wrong_losses = {mistake: torch.tensor(fit_(starts[mistake], torch.optim.SGD(starts[mistake].parameters(),
                                                                               lr=lr), X, y, steps),
                                          dtype=torch.float64)
                    for mistake, fit_ in wrong.items()}
    checks.assert_close(losses, torch.tensor(expected, dtype=torch.float64), "the losses returned by fit",
                        mistakes=wrong_losses)

    trained = checks.state_dict_of(model)
    wrong_weights = {mistake: dict(starts[mistake].state_dict()) for mistake in wrong}
    for (key, value), (our_key, expected_value) in zip(trained.items(), ours.state_dict().items()):
        checks.assert_close(value, expected_value, f"model parameter {key!r} after fit",
                            mistakes={m: w[our_key] for m, w in wrong_weights.items()})


# The race, judged on held-out points.

STEPS, SEED = 300, 0
# Held-out MSE after 300 steps, measured with the reference: adam 0.0011, momentum 0.0081, sgd 0.163
# (the untrained network scores about 0.2). The same with weights perturbed by 1e-6 moves only Adam's,
# by 3%. The thresholds leave a margin of about 3.5 for Adam and momentum.
THRESHOLDS = {"adam": 0.004, "momentum": 0.03, "sgd": 0.25}
WRONG_MODEL = ("optimizer given the wrong model's parameters: build each optimizer on the parameters of the "
               "model it trains")


def wiggle(x):
    return torch.exp(-x ** 2) * torch.cos(5 * x)


def race_data():
    """256 noisy training points and 200 clean held-out points of y = exp(-x²)·cos(5x), x in [-2, 2]."""
    generator = torch.Generator().manual_seed(4)
    X_train = torch.rand(256, 1, generator=generator) * 4 - 2  # (256, 1)
    y_train = wiggle(X_train) + 0.1 * torch.randn(256, 1, generator=generator)  # (256, 1)
    X_test = torch.rand(200, 1, generator=generator) * 4 - 2  # (200, 1)
    return X_train, y_train, X_test, wiggle(X_test)


def trained_models(value):
    names = sorted(THRESHOLDS)
    if not isinstance(value, dict) or sorted(value) != names:
        got = sorted(value) if isinstance(value, dict) else f"a {type(value).__name__}"
        raise CheckFailed(f"compare_optimizers should return a dict with the keys {names}, got {got}")
    for name, model in value.items():
        if not isinstance(model, RemoteObject):
            raise CheckFailed(f"compare_optimizers()[{name!r}] should be the trained model, "
                              f"got a {type(model).__name__}")
    return value


@pytest.mark.points(10)
def test_each_optimizer_trains_its_own_model(student):
    X_train, y_train, _, _ = race_data()
    models = trained_models(student.compare_optimizers(X_train, y_train, 3, 7))
    initial = checks.state_dict_of(student.make_model(7), "make_model(7)")
    for name, model in models.items():
        trained = checks.state_dict_of(model, f"the {name} model")
        if trained.keys() == initial.keys() and all(torch.equal(trained[k], initial[k]) for k in initial):
            raise CheckFailed(f"compare_optimizers: after 3 steps the {name} model still has exactly the "
                              f"weights make_model(7) starts with. Likely mistake: {WRONG_MODEL}")


@pytest.mark.points(20)
def test_adam_beats_momentum_beats_sgd(student):
    X_train, y_train, X_test, y_test = race_data()
    models = trained_models(student.compare_optimizers(X_train, y_train, STEPS, SEED))
    held_out = {}
    for name, model in models.items():
        predictions = checks.assert_shape(model(X_test), tuple(y_test.shape), f"the {name} model's predictions")
        held_out[name] = F.mse_loss(predictions.float(), y_test).item()
    summary = ", ".join(f"{name} {mse:.4g}" for name, mse in held_out.items())
    for name, threshold in THRESHOLDS.items():
        if not held_out[name] <= threshold:
            raise CheckFailed(f"held-out MSE after {STEPS} steps: {summary}; the {name} model should reach "
                              f"{threshold:g} or less")
    if not held_out["adam"] < held_out["momentum"] < held_out["sgd"]:
        raise CheckFailed(f"held-out MSE after {STEPS} steps: {summary}; expected Adam below momentum "
                          f"below plain gradient descent")
