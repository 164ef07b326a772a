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


import re
import pytest
import torch
from autograder import checks
from autograder.checks import CheckFailed
from autograder.errors import StudentCodeError
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
