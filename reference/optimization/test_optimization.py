"""Graded tests for the optimization assignment (100 points).

Points go only to the student's own code doing what a test names. Every test that uses an optimizer also
checks that it is the student's own (`assert_own_optimizer`): nothing from torch.optim but the Optimizer
base in its class, its ancestry or its step; its steps move the parameters; a fresh instance that loads
its state_dict() carries on exactly where it was; a group added with add_param_group moves too. An
optimizer that hands its work to a torch.optim optimizer fails there (no state of its own to save, and a
group its inner optimizer never heard of stands still).

The update rules are then checked step by step against torch.optim: the student's optimizer is built in the
worker on parameters we send, every step is driven by gradients we choose (the notebook's locked
`set_gradients`), and after each step the parameters come back and are compared in float64 with what torch.optim
computes here from the same start and the same gradients. Known mistakes are simulated here on the same inputs
so that a failure names them. Once the steps match, a second parameter group with settings of its own must be
stepped with them. An exception that a known mistake explains (a hyperparameter read as a plain variable, a
state entry read before it was stored, `state` without `self.`, a list or dict filled before it is created, any
other name read before it was assigned) fails with that mistake named; any other is shown as raised. The
training loop is checked on copied weights against the reference with torch's SGD with momentum, whose buffers
afterwards show that the loop stepped the optimizer it was given. The race must be run by the student's own
optimizers and fit (replayed here in the worker, bit for bit); the weights it trained are copied into the
reference's network and judged here, on held-out points the worker never sees.
"""
import copy
import re

import pytest
import torch
import torch.nn.functional as F

from autograder import checks
from autograder.checks import CheckFailed
from autograder.errors import StudentCodeError
from autograder.remote import RemoteObject
from autograder.unassigned import unassigned_mistake

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
MOMENTUM_IGNORED = ("the momentum is ignored: this is plain gradient descent (is the new velocity stored in "
                    "self.state[p] for the next step?)")
STEP_FROM_ZERO = ("step counter starting at 0: the first update must use t = 1 (increment the count before "
                  "using it); with t = 0 the bias correction 1 − β^0 is 0 and divides by zero")
EPS_INSIDE_SQRT = "eps inside the square root: the denominator is √v̂ + ε, not √(v̂ + ε)"
STEP_FROM_TWO = ("step counter one ahead: the first update uses t = 2; start the count at 0 and increment it "
                 "before using it, so that the first update uses t = 1")
EPS_SUBTRACTED = "eps is subtracted: the denominator is √v̂ + ε, not √v̂ − ε"
AVERAGES_NOT_KEPT = ("m and v are not kept from one step to the next: store the new ones in self.state[p], or "
                     "every step starts them from 0 again")
M_UNWEIGHTED = "the new gradient enters m without its weight: m ← β1·m + (1 − β1)·g, not β1·m + g"
V_UNWEIGHTED = "the new squared gradient enters v without its weight: v ← β2·v + (1 − β2)·g², not β2·v + g²"
M_CORRECTION_MULTIPLIES = "m's bias correction multiplies: m̂ = m / (1 − β1^t), not m·(1 − β1^t)"
V_CORRECTION_MULTIPLIES = "v's bias correction multiplies: v̂ = v / (1 − β2^t), not v·(1 − β2^t)"
DENOMINATOR_MULTIPLIES = "the step multiplies by the denominator: θ ← θ − lr·m̂ / (√v̂ + ε), not lr·m̂·(√v̂ + ε)"
NAN_IN_STEP = "{name}: {count} of {numel} values are NaN or infinite: {cause}"
NAN_CAUSES = {"SGD": "the update divides by zero",
              "Momentum": "the update divides by zero (the velocity starts at 0: nothing may divide by it)",
              "Adam": "the update divides by zero, or takes the square root of a negative number. m and v start "
                      "at 0, and nothing may divide by them; v, an average of squared gradients, is never negative, "
                      "and neither is the bias correction 1 − β2^t for t ≥ 1"}


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
        t = {STEP_FROM_ZERO: step - 1, STEP_FROM_TWO: step + 1}.get(mistake, step)
        for i, g in enumerate(grads):
            if mistake == AVERAGES_NOT_KEPT:
                m[i], v[i] = torch.zeros_like(g), torch.zeros_like(g)
            m[i] = beta1 * m[i] + (1 if mistake == M_UNWEIGHTED else 1 - beta1) * g
            v[i] = beta2 * v[i] + (1 if mistake == V_UNWEIGHTED else 1 - beta2) * g * g
            if mistake == no_bias_correction(betas):
                m_hat, v_hat = m[i], v[i]
            else:
                m_hat, v_hat = m[i] / (1 - beta1 ** t), v[i] / (1 - beta2 ** t)
            if mistake == M_CORRECTION_MULTIPLIES:
                m_hat = m[i] * (1 - beta1 ** t)
            if mistake == V_CORRECTION_MULTIPLIES:
                v_hat = v[i] * (1 - beta2 ** t)
            denominator = {EPS_INSIDE_SQRT: (v_hat + eps).sqrt(),
                           EPS_SUBTRACTED: v_hat.sqrt() - eps}.get(mistake, v_hat.sqrt() + eps)
            if mistake == DENOMINATOR_MULTIPLIES:
                params[i] = params[i] - lr * m_hat * denominator
            else:
                params[i] = params[i] - lr * m_hat / denominator
        trajectory.append([p.clone() for p in params])
    return trajectory


# Driving the student's optimizer in the worker.

NEVER_MOVED = ("{name}.step() never changed the parameters, although every gradient was nonzero: update each "
               "parameter in place (p -= ..., p.add_(...)); a new tensor bound to a local name changes nothing")
FROM_TORCH = ("{what} is {name}, from torch.optim: write the update rule yourself in a subclass of "
              "torch.optim.Optimizer; torch's own optimizers are only the yardstick here")
NOT_RESUMED = ("a fresh {name} that loaded the state_dict() of one stepped {steps} times did not carry on with the "
               "same steps (largest difference {error:.3g}): keep everything step needs from one step to the "
               "next (velocity, running averages, step count) in self.state[p], nowhere else")
ADDED_GROUP_STILL = ("{name}: the parameters of a group added with add_param_group() did not move in {steps} "
                     "steps with nonzero gradients: step must update every parameter of every group in "
                     "self.param_groups")
OWN_STEPS = 3  # steps before and after the optimizer is saved and resumed


def parameters_of(params):
    return list(checks.state_dict_of(params, "the parameters").values())


def same(a, b):
    """Equal up to float64 rounding, NaN equal to NaN: the same computation run twice."""
    return a.shape == b.shape and bool(torch.isclose(a, b, rtol=1e-12, atol=0, equal_nan=True).all())


def largest_difference(got, expected):
    return max(float((a.double() - b.double()).abs().nan_to_num(float("inf")).max())
               if a.shape == b.shape else float("inf") for a, b in zip(got, expected))


def from_torch_optim(typename):
    """A name from torch.optim other than the Optimizer base class the notebook builds on."""
    return typename.startswith("torch.optim.") and not typename.startswith("torch.optim.optimizer.")


def assert_own_optimizer(student, class_name, hyperparameters):
    """student.<class_name> is the student's own optimizer, whatever its update rule.

    Nothing in the object it builds, its ancestry or its step comes from torch.optim (but the Optimizer
    base); its steps move the parameters; a fresh one that loads its state_dict() carries on exactly
    as it would have; a group added with add_param_group() moves too.
    """
    optimizer_class = getattr(student, class_name)
    typename = student.torch.typename
    start, gradients = step_problem(seed=11, steps=2 * OWN_STEPS)

    steady = student.as_parameters(start)
    optimizer = optimizer_class(steady.parameters(), **hyperparameters)
    names = [(f"the optimizer {class_name}(...) builds", typename(optimizer)),
             (f"{class_name}.step", typename(optimizer.step))]
    try:
        ancestry = optimizer_class.mro()
    except StudentCodeError:
        ancestry = []  # not a class but a function that builds the optimizer, judged by what it builds
    names += [(f"{class_name}'s base class", typename(base)) for base in ancestry]
    for what, name in names:
        if from_torch_optim(name):
            raise CheckFailed(FROM_TORCH.format(what=what, name=name))

    for grads in gradients:
        student.set_gradients(steady, grads)
        optimizer.step()
    expected = parameters_of(steady)
    if all(torch.equal(a, b) for a, b in zip(expected, start)):
        raise CheckFailed(NEVER_MOVED.format(name=class_name))

    resumed = student.as_parameters(start)
    added = student.as_parameters(start[:1])
    first = optimizer_class(resumed.parameters(), **hyperparameters)
    for grads in gradients[:OWN_STEPS]:
        student.set_gradients(resumed, grads)
        first.step()
    second = optimizer_class(resumed.parameters(), **hyperparameters)
    second.load_state_dict(first.state_dict())
    second.add_param_group({"params": added.parameters()})
    for grads in gradients[OWN_STEPS:]:
        student.set_gradients(resumed, grads)
        student.set_gradients(added, grads[:1])
        second.step()
    got = parameters_of(resumed)
    if not all(same(a, b) for a, b in zip(got, expected)):
        raise CheckFailed(NOT_RESUMED.format(name=class_name, steps=OWN_STEPS,
                                             error=largest_difference(got, expected)))
    if torch.equal(parameters_of(added)[0], start[0]):
        raise CheckFailed(ADDED_GROUP_STILL.format(name=class_name, steps=len(gradients) - OWN_STEPS))


def assert_step_matches(actual, expected, name, mistakes):
    """assert_rel_error, and a mistake that makes NaN is named too (NaN never compares close to NaN)."""
    got = checks.expect_tensor(actual, name)
    for mistake, wrong in mistakes.items():
        if got.shape == wrong.shape and torch.isnan(got).any() \
                and torch.equal(torch.isnan(got), torch.isnan(wrong)):
            raise CheckFailed(f"{name}: {int(torch.isnan(got).sum())} of {got.numel()} values are NaN. "
                              f"Likely mistake: {mistake}")
    checks.assert_rel_error(got, expected, name, max_error=MAX_REL_ERROR, mistakes=mistakes)


def drive(student, class_name, hyperparameters, start, gradients):
    """The parameters after each step of student.<class_name> built on `start` and fed `gradients`, and
    (step number, error) for a step that raised, which ends the run."""
    params = student.as_parameters(start)  # an nn.ParameterList in the worker
    optimizer = getattr(student, class_name)(params.parameters(), **hyperparameters)
    trajectory = []
    for t, grads in enumerate(gradients, start=1):
        student.set_gradients(params, grads)
        try:
            optimizer.step()
        except StudentCodeError as error:
            return trajectory, (t, error)
        trajectory.append(parameters_of(params))
    return trajectory, None


FACTORS = {"SGD": "the step is lr·g", "Momentum": "v ← μ·v + g, then the step is lr·v",
           "Adam": "the weights 1 − β1 and 1 − β2 of the new gradient, the bias corrections 1 − β^t, the step lr·m̂"}


def step_scale(step, expected_step):
    """k when `step` is k times `expected_step` (k not 1), one factor for every element, else None."""
    step, expected_step = step.double(), expected_step.double()
    if step.shape != expected_step.shape or not expected_step.abs().max() > 0 or not torch.isfinite(step).all():
        return None
    k = float((step * expected_step).sum() / (expected_step * expected_step).sum())
    if abs(k - 1) < 1e-3 or abs(k) < 1e-6:
        return None
    return k if torch.allclose(step, k * expected_step, rtol=1e-2, atol=1e-12) else None


def nan_from_zero_over_zero(student, class_name, hyperparameters, start, gradients):
    """Whether one step of student.<class_name> makes NaN where the gradient is 0, as a step counter starting
    at 0 does (m / (1 − β1^0) is 0 / 0 there); the square root of a negative v leaves those entries alone."""
    gradients = [g.clone() for g in gradients]
    gradients[0][0] = 0.0
    trajectory, failure = drive(student, class_name, hyperparameters, start, [gradients])
    return failure is not None or bool(torch.isnan(trajectory[0][0][0]).all())


def check_against_torch(student, class_name, torch_class, hyperparameters, start, gradients, wrong):
    """Build student.<class_name> on `start` in the worker, step it with `gradients` and compare every step;
    then check that it is the student's own optimizer.

    `wrong` maps the name of a mistake to the trajectory that mistake produces.
    """
    expected = torch_trajectory(torch_class, start, gradients, **hyperparameters)
    trajectory, failure = drive(student, class_name, hyperparameters, start, gradients)
    if failure is None and all(torch.equal(a, b) for a, b in zip(trajectory[-1], start)):
        raise CheckFailed(NEVER_MOVED.format(name=class_name))
    for t, got in enumerate(trajectory, start=1):
        before, expected_before = (start, start) if t == 1 else (trajectory[t - 2], expected[t - 2])
        for i, value in enumerate(got):
            name = f"{class_name}: parameter {i} {SHAPES[i]} after step {t}"
            try:
                assert_step_matches(value, expected[t - 1][i], name,
                                    {mistake: path[t - 1][i] for mistake, path in wrong.items()})
            except CheckFailed as mismatch:
                message = str(mismatch)
                counter_blamed = STEP_FROM_ZERO in message and " are NaN" in message
                if isinstance(value, torch.Tensor) and not torch.isfinite(value).all() and (
                        not checks.names_a_mistake(message) or counter_blamed
                        and not nan_from_zero_over_zero(student, class_name, hyperparameters, start, gradients[0])):
                    raise CheckFailed(NAN_IN_STEP.format(name=name, count=int((~torch.isfinite(value)).sum()),
                                                         numel=value.numel(), cause=NAN_CAUSES[class_name])
                                      ) from None
                scale = None if checks.names_a_mistake(message) else step_scale(
                    value - before[i], expected[t - 1][i] - expected_before[i])
                if scale is None:
                    raise
                if abs(scale + 1) < 1e-3:
                    mistake = "the step goes the opposite way, uphill: a sign in the update is flipped"
                else:
                    direction = "the same direction" if scale > 0 else "the opposite direction, uphill"
                    mistake = (f"the step is {scale:.4g} times torch.optim's, in {direction}: a constant factor in "
                               f"the update is off")
                raise CheckFailed(f"{name}: likely mistake: {mistake} ({FACTORS[class_name]})") from None
    if failure is not None:
        t, error = failure
        if error.type_name == "ZeroDivisionError" and t == 1 and STEP_FROM_ZERO in wrong:
            raise CheckFailed(f"{class_name}.step() divided by zero on the first step. "
                              f"Likely mistake: {STEP_FROM_ZERO}") from None
        if "leaf Variable that requires grad" in error.message:
            raise CheckFailed(f"{class_name}.step() changed a parameter in place while autograd was "
                              "recording; decorate step with @torch.no_grad()") from None
        raise error
    check_group_settings(student, class_name, torch_class, hyperparameters, start, gradients[:GROUP_STEPS])
    assert_own_optimizer(student, class_name, hyperparameters)


# Each group's own settings: a second group with hyperparameters of its own is stepped with them.

CONSTRUCTOR_DEFAULTS = {"SGD": {}, "Momentum": {}, "Adam": {"betas": (0.9, 0.999), "eps": 1e-8}}
OTHER_GROUP = {"SGD": {"lr": 0.2}, "Momentum": {"lr": 0.02, "momentum": 0.5},
               "Adam": {"lr": 0.05, "betas": (0.7, 0.95), "eps": 1e-2}}
GROUP_STEPS = 3
SETTING_FROM_FIRST_GROUP = ("a group's own {key} is ignored: every group is stepped with the first group's {key} "
                            "(the constructor's). Read it inside the loop over self.param_groups, from the group "
                            "being updated: group[{key!r}]")
SETTINGS_FROM_FIRST_GROUP = ("a group's own settings are ignored: every group is stepped with the first group's "
                             "hyperparameters (the constructor's). Read each of them inside the loop over "
                             "self.param_groups, from the group being updated: group[...]")


def check_group_settings(student, class_name, torch_class, hyperparameters, start, gradients):
    """student.<class_name> built on two groups, the second with settings of its own, steps the second group's
    parameter with those settings, as torch.optim does; a step that uses the first group's settings is named."""
    first = {**CONSTRUCTOR_DEFAULTS[class_name], **hyperparameters}
    other = OTHER_GROUP[class_name]
    one, two = student.as_parameters(start[:1]), student.as_parameters(start[1:])
    optimizer = getattr(student, class_name)([{"params": one.parameters()}, {"params": two.parameters(), **other}],
                                             **first)
    for grads in gradients:
        student.set_gradients(one, grads[:1])
        student.set_gradients(two, grads[1:])
        optimizer.step()

    def stepped_with(settings):
        return torch_trajectory(torch_class, start[1:], [grads[1:] for grads in gradients], **settings)[-1][0]

    wrong = {SETTING_FROM_FIRST_GROUP.format(key=key): stepped_with({**first, **other, key: first[key]})
             for key in other}
    if len(other) > 1:
        wrong[SETTINGS_FROM_FIRST_GROUP] = stepped_with(first)
    name = (f"{class_name}: parameter 1 {SHAPES[1]} after {len(gradients)} steps in a second group with its own "
            f"settings {other}")
    assert_step_matches(parameters_of(two)[0], stepped_with({**first, **other}), name, wrong)


# Exceptions that a known mistake explains, named where the evidence singles it out (the optimizer's own cases
# first, then any name read before it was assigned); any other is shown as raised.

HYPERPARAMETERS_IN_GROUPS = ("lr", "momentum", "betas", "eps")  # the group keys of SGD, Momentum and Adam
OPTIMIZER_ATTRIBUTES = ("state", "param_groups", "defaults")
HYPERPARAMETER_AS_NAME = ("step() reads the hyperparameter {name!r} as a plain variable, but the constructor's "
                          "arguments are not in scope in step: each parameter group holds them, so read "
                          "{name} = group[{name!r}] inside the loop over self.param_groups")
ATTRIBUTE_WITHOUT_SELF = ("step() reads {name!r} as a plain variable: it is the optimizer's attribute, "
                          "self.{name}{hint}")
STATE_NOT_STARTED = ("step() looked up {key!r} in a parameter's state before anything had stored it there: "
                     "self.state[p] starts as an empty dict for every parameter, so on a parameter's first step "
                     "store the starting value of {key!r} (torch.zeros_like(p) for an average or a velocity, 0 for "
                     "a step count) before reading it")
NOT_CREATED = "{name!r} {how} before it is created: start it as {empty} before filling it"
# The deepest frame of the student's code in a traceback: where it was, and the line it raised on.
STUDENT_FRAME = re.compile(r'^  File "<cell \d+>", line \d+, in (\w+)\n    (.*)$', re.MULTILINE)
QUOTED = re.compile(r"'([^']+)'")


def known_mistake(error):
    """The mistake an exception from the student's code points to, if the evidence singles one out."""
    frames = STUDENT_FRAME.findall(error.traceback)
    quoted = QUOTED.search(error.message)
    if not frames or not quoted:
        return unassigned_mistake(error)
    function, line = frames[-1]
    name = quoted.group(1)
    if error.type_name in ("NameError", "UnboundLocalError"):
        if function == "step" and name in HYPERPARAMETERS_IN_GROUPS:
            return HYPERPARAMETER_AS_NAME.format(name=name)
        if function == "step" and name in OPTIMIZER_ATTRIBUTES:
            hint = ", and each parameter's own dict is self.state[p]" if name == "state" else ""
            return ATTRIBUTE_WITHOUT_SELF.format(name=name, hint=hint)
        if re.match(rf"\s*{re.escape(name)}\.(append|extend)\(", line):
            return NOT_CREATED.format(name=name, how="is appended to", empty=f"an empty list, {name} = [],")
        if re.match(rf"\s*{re.escape(name)}\[[^\]]*\]\s*=[^=]", line):
            return NOT_CREATED.format(name=name, how="gets items", empty=f"an empty dict, {name} = {{}},")
    if (error.type_name == "KeyError" and function == "step" and error.message == repr(name)
            and name not in (*HYPERPARAMETERS_IN_GROUPS, "params") and "state" in line):
        return STATE_NOT_STARTED.format(key=name)
    return unassigned_mistake(error)


naming_mistakes = checks.naming_mistakes(known_mistake)


@pytest.mark.points(10)
@pytest.mark.public
@naming_mistakes
def test_sgd_matches_torch(student):
    start, gradients = step_problem(seed=1, steps=10)
    hyper = {"lr": 0.07}
    check_against_torch(student, "SGD", torch.optim.SGD, hyper, start, gradients,
                        {SGD_UPHILL: sgd_trajectory(start, gradients, **hyper, uphill=True)})


@pytest.mark.points(15)
@pytest.mark.public
@naming_mistakes
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
            for mistake in (no_bias_correction(betas), STEP_FROM_ZERO, EPS_INSIDE_SQRT, STEP_FROM_TWO,
                            EPS_SUBTRACTED, M_UNWEIGHTED, V_UNWEIGHTED, AVERAGES_NOT_KEPT, M_CORRECTION_MULTIPLIES,
                            V_CORRECTION_MULTIPLIES, DENOMINATOR_MULTIPLIES)}


@pytest.mark.points(15)
@pytest.mark.public
@naming_mistakes
def test_adam_matches_torch_with_default_betas_and_eps(student):
    start, gradients = step_problem(seed=3, steps=12)
    hyper = {"lr": 0.01}
    check_against_torch(student, "Adam", torch.optim.Adam, hyper, start, gradients,
                        adam_mistakes(start, gradients, hyper))


@pytest.mark.points(15)
@naming_mistakes
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
    checks.returned(value, f"{name}: fit")
    if items is not None and not items:
        raise CheckFailed(f"{name}: fit returned an empty list. Likely mistake: no step's loss is appended to "
                          "the list fit returns")
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


NEVER_STEPPED = ("fit never stepped the optimizer it was given (after fit it holds no momentum): train with the "
                 "`optimizer` argument, not with an optimizer of your own")
# torch's SGD with momentum, so that this test is about the loop, not about the student's update rules, and its
# momentum buffers afterwards show which optimizer did the training.
FIT_OPTIMIZER = {"lr": 0.05, "momentum": 0.6}


@pytest.mark.points(15)
@naming_mistakes
def test_fit_trains_with_the_given_optimizer(student, reference):
    generator = torch.Generator().manual_seed(5)
    X = torch.rand(37, 1, generator=generator, dtype=torch.float64) * 4 - 2  # (37, 1)
    y = torch.randn(37, 1, generator=generator, dtype=torch.float64)  # (37, 1)
    steps = 8

    model = student.make_model(5, 12).double()
    ours = reference.make_model(0, 12).double()
    checks.copy_parameters(checks.state_dict_of(model), ours)
    starts = {MISSING_ZERO_GRAD: copy.deepcopy(ours), CLEARED_TOO_LATE: copy.deepcopy(ours)}

    optimizer = student.torch.optim.SGD(model.parameters(), **FIT_OPTIMIZER)
    losses = as_losses(student.fit(model, optimizer, X, y, steps), steps, "the losses returned by fit")

    our_optimizer = torch.optim.SGD(ours.parameters(), **FIT_OPTIMIZER)
    expected = reference.fit(ours, our_optimizer, X, y, steps)
    wrong = {MISSING_ZERO_GRAD: fit_without_zero_grad, CLEARED_TOO_LATE: fit_clearing_after_backward}
    wrong_losses = {mistake: torch.tensor(fit_(starts[mistake],
                                               torch.optim.SGD(starts[mistake].parameters(), **FIT_OPTIMIZER),
                                               X, y, steps), dtype=torch.float64)
                    for mistake, fit_ in wrong.items()}
    given = optimizer.state_dict()["state"]
    if given.get(0) is None and checks.matching_mistake(losses, wrong_losses) is None:
        raise CheckFailed(NEVER_STEPPED)
    checks.assert_close(losses, torch.tensor(expected, dtype=torch.float64), "the losses returned by fit",
                        mistakes=wrong_losses)

    trained = checks.state_dict_of(model)
    wrong_weights = {mistake: dict(starts[mistake].state_dict()) for mistake in wrong}
    for (key, value), (our_key, expected_value) in zip(trained.items(), ours.state_dict().items()):
        checks.assert_close(value, expected_value, f"model parameter {key!r} after fit",
                            mistakes={m: w[our_key] for m, w in wrong_weights.items()})

    for i, state in our_optimizer.state_dict()["state"].items():
        theirs = given.get(i)
        if not isinstance(theirs, dict) or "momentum_buffer" not in theirs:
            raise CheckFailed(NEVER_STEPPED)
        checks.assert_close(theirs["momentum_buffer"], state["momentum_buffer"],
                            f"the momentum buffer of parameter {i} in the optimizer given to fit")


# The race, judged on held-out points.

STEPS, SEED = 300, 0
# Held-out MSE after 300 steps, measured with the reference: adam 0.0011, momentum 0.0081, sgd 0.163
# (the untrained network scores about 0.2). The same with weights perturbed by 1e-6 moves only Adam's,
# by 3%. The thresholds leave a margin of about 3.5 for Adam and momentum.
THRESHOLDS = {"adam": 0.004, "momentum": 0.03, "sgd": 0.25}
WRONG_MODEL = ("optimizer given the wrong model's parameters: build each optimizer on the parameters of the "
               "model it trains")
CLASSES = {"sgd": "SGD", "momentum": "Momentum", "adam": "Adam"}
NOT_OWN_TRAINING = ("compare_optimizers()[{name!r}] is not make_model({seed}) trained {steps} steps by your fit with "
                    "your own {class_name} and HYPERPARAMETERS[{name!r}] (largest difference {error:.3g}): build "
                    "each optimizer from your class and train it with fit")
NOT_STEPPED = ("fit(model, {class_name}(model.parameters(), ...), ...) left that optimizer without any state: fit "
               "must step the optimizer it is given")


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
    checks.returned(value, "compare_optimizers")
    if value == {}:
        raise CheckFailed(f"compare_optimizers returned an empty dict. Likely mistake: the trained models are "
                          f"never stored in it under their names {names}")
    if not isinstance(value, dict) or sorted(value) != names:
        got = sorted(value) if isinstance(value, dict) else f"a {type(value).__name__}"
        raise CheckFailed(f"compare_optimizers should return a dict with the keys {names}, got {got}")
    for name, model in value.items():
        if not isinstance(model, RemoteObject):
            raise CheckFailed(f"compare_optimizers()[{name!r}] should be the trained model, "
                              f"got a {type(model).__name__}")
    return value


def identical(a, b):
    return a.shape == b.shape and bool(torch.isclose(a, b, rtol=0, atol=0, equal_nan=True).all())


def assert_own_optimizers(student, reference):
    for name, class_name in CLASSES.items():
        assert_own_optimizer(student, class_name, reference.HYPERPARAMETERS[name])


def assert_trained_by_own_optimizers(student, reference, models, X, y, steps, seed):
    """`models` are, bit for bit, what the student's fit makes of make_model(seed) with their own optimizers."""
    for name, class_name in CLASSES.items():
        model = student.make_model(seed)
        optimizer = getattr(student, class_name)(model.parameters(), **reference.HYPERPARAMETERS[name])
        student.fit(model, optimizer, X, y, steps)
        if name != "sgd" and optimizer.state_dict()["state"].get(0) is None:  # plain SGD keeps no state
            raise CheckFailed(NOT_STEPPED.format(class_name=class_name))
        replayed = list(checks.state_dict_of(model, f"make_model({seed}) trained by {class_name}").values())
        got = list(checks.state_dict_of(models[name], f"the {name} model").values())
        if len(got) != len(replayed) or not all(identical(a, b) for a, b in zip(got, replayed)):
            raise CheckFailed(NOT_OWN_TRAINING.format(name=name, seed=seed, steps=steps, class_name=class_name,
                                                      error=largest_difference(got, replayed)))


@pytest.mark.points(10)
@naming_mistakes
def test_each_optimizer_trains_its_own_model(student, reference):
    X_train, y_train, _, _ = race_data()
    models = trained_models(student.compare_optimizers(X_train, y_train, 3, 7))
    assert_own_optimizers(student, reference)
    initial = checks.state_dict_of(student.make_model(7), "make_model(7)")
    for name, model in models.items():
        trained = checks.state_dict_of(model, f"the {name} model")
        if trained.keys() == initial.keys() and all(torch.equal(trained[k], initial[k]) for k in initial):
            raise CheckFailed(f"compare_optimizers: after 3 steps the {name} model still has exactly the "
                              f"weights make_model(7) starts with. Likely mistake: {WRONG_MODEL}")
    assert_trained_by_own_optimizers(student, reference, models, X_train, y_train, 3, 7)


@pytest.mark.points(20)
@naming_mistakes
def test_adam_beats_momentum_beats_sgd(student, reference):
    X_train, y_train, X_test, y_test = race_data()
    models = trained_models(student.compare_optimizers(X_train, y_train, STEPS, SEED))
    held_out, ours = {}, reference.make_model(SEED)
    for name, model in models.items():  # each trained model's weights, judged here in make_model's network
        checks.copy_parameters(checks.state_dict_of(model, f"the {name} model"), ours, f"the {name} model")
        with torch.no_grad():
            held_out[name] = F.mse_loss(ours(X_test), y_test).item()
    summary = ", ".join(f"{name} {mse:.4g}" for name, mse in held_out.items())
    for name, threshold in THRESHOLDS.items():
        checks.assert_at_most(held_out[name], threshold,
                              f"held-out MSE of the {name} model after {STEPS} steps (all three: {summary})")
    if not held_out["adam"] < held_out["momentum"] < held_out["sgd"]:
        raise CheckFailed(f"held-out MSE after {STEPS} steps: {summary}; expected Adam below momentum "
                          f"below plain gradient descent")
    assert_own_optimizers(student, reference)
    assert_trained_by_own_optimizers(student, reference, models, X_train, y_train, STEPS, SEED)
