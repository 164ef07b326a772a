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
