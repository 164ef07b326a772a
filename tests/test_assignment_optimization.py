"""The optimization assignment grades its sample submissions as intended: exact points per test, and the
failure a known mistake causes in the test aimed at it names that mistake. Submissions that leave the work
to torch.optim, built here from the reference and the stub, score only what they did themselves."""
from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat
import pytest

from autograder.grading.grade import grade_notebook
from autograder.grading.results import SubmissionResult
from conftest import ROOT, notebook_variant, strip_solution_markers
from sample_grading import (assert_loses_exactly, assert_reference_scores_full_marks, assert_stub_is_not_implemented,
                            declared_points, graded, sample_names)


POINTS = declared_points("optimization")  # test name -> points, from reference/optimization/test_optimization.py

ADAM_STEPS = ("test_adam_matches_torch_with_default_betas_and_eps",
              "test_adam_matches_torch_with_other_hyperparameters")
SGD_STEPS, MOMENTUM_STEPS = "test_sgd_matches_torch", "test_momentum_matches_torch_sgd_with_momentum"
RULES = (SGD_STEPS, MOMENTUM_STEPS, *ADAM_STEPS)
FIT = "test_fit_trains_with_the_given_optimizer"
OWN_MODEL = "test_each_optimizer_trains_its_own_model"
RACE = "test_adam_beats_momentum_beats_sgd"

# sample -> {failing test: a phrase its message must contain}; every other test must pass.
# The race fails as a consequence of some mistakes; its message reports the held-out losses.
EXPECTED: dict[str, dict[str, str]] = {
    "correct_alternative": {},
    "correct_copy_updates": {},
    "correct_shared_base": {},
    "mistake_adam_missing_bias_correction": {
        **dict.fromkeys(ADAM_STEPS, "missing bias correction"),
    },
    "mistake_adam_step_counter_from_zero": {
        **dict.fromkeys(ADAM_STEPS, "step counter starting at 0"),
        RACE: "adam nan",
    },
    "mistake_adam_eps_inside_sqrt": {
        **dict.fromkeys(ADAM_STEPS, "eps inside the square root"),
    },
    "mistake_adam_bias_correction_multiplies": {
        **dict.fromkeys(ADAM_STEPS, "v's bias correction multiplies"),
        RACE: "held-out MSE of the adam model after",
    },
    "mistake_adam_step_counter_from_one": {
        **dict.fromkeys(ADAM_STEPS, "step counter one ahead: the first update uses t = 2"),
    },
    "mistake_adam_averages_not_kept": {
        **dict.fromkeys(ADAM_STEPS, "m and v are not kept from one step to the next"),
        RACE: "held-out MSE of the adam model after",
    },
    "mistake_adam_m_without_weight": {
        **dict.fromkeys(ADAM_STEPS, "the new gradient enters m without its weight"),
    },
    "mistake_momentum_velocity_not_stored": {
        "test_momentum_matches_torch_sgd_with_momentum": "is the new velocity stored in self.state[p]",
        RACE: "held-out MSE of the momentum model after",
    },
    "mistake_momentum_velocity_wrong_order": {
        "test_momentum_matches_torch_sgd_with_momentum": "velocity updated in the wrong order",
        RACE: "held-out MSE of the momentum model after",
    },
    "mistake_optimizer_wrong_model_parameters": {
        "test_each_optimizer_trains_its_own_model": "optimizer given the wrong model's parameters",
        RACE: "held-out MSE of the momentum model after",
    },
    "mistake_fit_missing_zero_grad": {
        "test_fit_trains_with_the_given_optimizer": "missing zero_grad",
        RACE: "held-out MSE of the adam model after 300 steps",
    },
    # Exceptions a known mistake explains: every test that reaches the failing code names it.
    "mistake_sgd_lr_as_plain_variable": {
        **dict.fromkeys((SGD_STEPS, OWN_MODEL, RACE), "reads the hyperparameter 'lr' as a plain variable"),
    },
    "mistake_momentum_velocity_not_started": {
        **dict.fromkeys((MOMENTUM_STEPS, OWN_MODEL, RACE), "looked up 'velocity' in a parameter's state before "
                                                          "anything had stored it there"),
    },
    "mistake_adam_state_without_self": {
        **dict.fromkeys((*ADAM_STEPS, OWN_MODEL, RACE), "reads 'state' as a plain variable: it is the optimizer's "
                                                        "attribute, self.state"),
    },
    "mistake_fit_losses_list_not_created": {
        **dict.fromkeys((FIT, OWN_MODEL, RACE), "'losses' is appended to before it is created"),
    },
    "mistake_adam_settings_from_defaults": {
        **dict.fromkeys(ADAM_STEPS, "a group's own settings are ignored"),
    },
    "mistake_adam_step_count_not_read": {
        **dict.fromkeys((*ADAM_STEPS, OWN_MODEL, RACE), "`t` is used in step, but no variable, function or module "
                                                        "of that name exists"),
    },
    "mistake_fit_returns_nothing": {
        "test_fit_trains_with_the_given_optimizer": "fit returned None. Likely mistake: a return statement is missing"},
}


def test_points_add_up_to_100():
    assert sum(POINTS.values()) == 100


def test_every_sample_has_an_expectation():
    assert sample_names("optimization") == sorted(name.removesuffix(".ipynb") for name in EXPECTED)


@pytest.mark.parametrize("sample", sorted(EXPECTED))
def test_sample_loses_exactly_what_it_deserves(sample):
    assert_loses_exactly(graded("optimization", sample), POINTS, EXPECTED[sample])


def test_missing_bias_correction_names_the_size_of_the_first_step():
    test = next(t for t in graded("optimization", "mistake_adam_missing_bias_correction.ipynb").tests
                if t.name == "test_adam_matches_torch_with_default_betas_and_eps")
    assert "3.16·lr" in test.message


def test_reference_scores_full_marks():
    assert_reference_scores_full_marks("optimization")


def test_stub_scores_zero_and_every_test_says_not_implemented():
    assert_stub_is_not_implemented("optimization")


# Submissions whose optimizers, loop or race are not their own work.

REFERENCE = ROOT / "reference" / "optimization" / "optimization.ipynb"
STUB = ROOT / "assignments" / "optimization" / "optimization.ipynb"


def cells(**sources: str) -> dict[str, str]:
    """Cell sources by grade_id (underscores for dashes)."""
    return {grade_id.replace("_", "-"): textwrap.dedent(source).strip() + "\n" for grade_id, source in sources.items()}


TORCH_ALIASES = cells(sgd="SGD = torch.optim.SGD", momentum="Momentum = torch.optim.SGD",
                      adam="Adam = torch.optim.Adam")
TORCH_SUBCLASSES = cells(
    sgd="""
        class SGD(torch.optim.SGD):
            def __init__(self, params, lr=1e-3):
                super().__init__(params, lr=lr)
    """,
    momentum="""
        class Momentum(torch.optim.SGD):
            def __init__(self, params, lr=1e-3, momentum=0.9):
                super().__init__(params, lr=lr, momentum=momentum)
    """,
    adam="""
        class Adam(torch.optim.Adam):
            pass
    """)
TORCH_WRAPPERS = cells(  # an Optimizer of their own that passes each step on to torch's
    sgd="""
        class SGD(Optimizer):
            def __init__(self, params, lr=1e-3):
                params = list(params)
                super().__init__(params, defaults={"lr": lr})
                self.inner = torch.optim.SGD(params, lr=lr)

            def step(self):
                self.inner.step()
    """,
    momentum="""
        class Momentum(Optimizer):
            def __init__(self, params, lr=1e-3, momentum=0.9):
                params = list(params)
                super().__init__(params, defaults={"lr": lr, "momentum": momentum})
                self.inner = torch.optim.SGD(params, lr=lr, momentum=momentum)

            def step(self):
                self.inner.step()
    """,
    adam="""
        class Adam(Optimizer):
            def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
                params = list(params)
                super().__init__(params, defaults={"lr": lr, "betas": betas, "eps": eps})
                self.inner = torch.optim.Adam(params, lr=lr, betas=betas, eps=eps)

            def step(self):
                self.inner.step()
    """)
STEPS_DO_NOTHING = cells(
    sgd="""
        class SGD(Optimizer):
            def __init__(self, params, lr=1e-3):
                super().__init__(params, defaults={"lr": lr})

            def step(self):
                pass
    """,
    momentum="""
        class Momentum(Optimizer):
            def __init__(self, params, lr=1e-3, momentum=0.9):
                super().__init__(params, defaults={"lr": lr, "momentum": momentum})

            def step(self):
                pass
    """,
    adam="""
        class Adam(Optimizer):
            def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
                super().__init__(params, defaults={"lr": lr, "betas": betas, "eps": eps})

            def step(self):
                pass
    """)
FIT_WITH_ITS_OWN_TORCH_OPTIMIZER = cells(fit="""
    def fit(model, optimizer, X, y, steps):
        group = optimizer.param_groups[0]  # copies the settings, never steps the optimizer it is given
        if "betas" in group:
            own = torch.optim.Adam(model.parameters(), lr=group["lr"], betas=group["betas"], eps=group["eps"])
        else:
            own = torch.optim.SGD(model.parameters(), lr=group["lr"], momentum=group.get("momentum", 0))
        losses = []
        for _ in range(steps):
            own.zero_grad()
            loss = F.mse_loss(model(X), y)
            loss.backward()
            own.step()
            losses.append(loss.item())
        return losses
""")
COMPARE_WITH_TORCH_OPTIM = cells(compare_optimizers="""
    def compare_optimizers(X, y, steps, seed=0):
        classes = {"sgd": torch.optim.SGD, "momentum": torch.optim.SGD, "adam": torch.optim.Adam}
        models = {}
        for name, optimizer_class in classes.items():
            model = make_model(seed)
            optimizer = optimizer_class(model.parameters(), **HYPERPARAMETERS[name])
            for _ in range(steps):
                optimizer.zero_grad()
                F.mse_loss(model(X), y).backward()
                optimizer.step()
            models[name] = model
        return models
""")

FROM_TORCH = "from torch.optim: write the update rule yourself"
# variant -> (the notebook it is made from, the cells replaced, {failing test: a phrase its message must contain})
CHEATS: dict[str, tuple[Path, dict[str, str], dict[str, str]]] = {
    "torch_optim_aliases": (REFERENCE, TORCH_ALIASES, {
        **dict.fromkeys(RULES, FROM_TORCH), OWN_MODEL: "torch.optim.sgd.SGD", RACE: "torch.optim.sgd.SGD"}),
    "torch_optim_subclasses": (REFERENCE, TORCH_SUBCLASSES, {
        SGD_STEPS: "SGD.step is torch.optim.sgd.SGD.step", MOMENTUM_STEPS: "Momentum.step is torch.optim.sgd.SGD.step",
        **dict.fromkeys(ADAM_STEPS, "Adam.step is torch.optim.adam.Adam.step"),
        OWN_MODEL: FROM_TORCH, RACE: FROM_TORCH}),
    "torch_optim_wrappers": (REFERENCE, TORCH_WRAPPERS, {
        SGD_STEPS: "group added with add_param_group() did not move",
        **dict.fromkeys((MOMENTUM_STEPS, *ADAM_STEPS), "in self.state[p], nowhere else"),
        OWN_MODEL: "group added with add_param_group() did not move",
        RACE: "group added with add_param_group() did not move"}),
    "steps_do_nothing": (REFERENCE, STEPS_DO_NOTHING, {
        **dict.fromkeys(RULES, "step() never changed the parameters"), OWN_MODEL: "SGD.step() never changed",
        RACE: "held-out MSE of the adam model after"}),
    "fit_with_its_own_torch_optimizer": (REFERENCE, FIT_WITH_ITS_OWN_TORCH_OPTIMIZER, {
        FIT: "fit never stepped the optimizer it was given",
        OWN_MODEL: "left that optimizer without any state", RACE: "left that optimizer without any state"}),
    "compare_optimizers_with_torch_optim": (REFERENCE, COMPARE_WITH_TORCH_OPTIM, {
        OWN_MODEL: "is not make_model(7) trained 3 steps by your fit with your own SGD",
        RACE: "is not make_model(0) trained 300 steps by your fit with your own SGD"}),
}


@pytest.fixture(scope="module")
def cheat(tmp_path_factory):
    folder = tmp_path_factory.mktemp("optimization_cheats")

    def graded_cheat(name: str, base: Path, replace: dict[str, str]) -> SubmissionResult:
        return grade_notebook(notebook_variant(base, folder / f"{name}.ipynb", replace=replace), "optimization", ROOT)
    return graded_cheat


@pytest.mark.parametrize("name", sorted(CHEATS))
def test_work_left_to_torch_optim_scores_nothing(cheat, name):
    base, replace, failing = CHEATS[name]
    assert_loses_exactly(cheat(name, base, replace), POINTS, failing)


def test_stub_whose_race_is_run_by_torch_optim_scores_zero(cheat):
    """compare_optimizers training with torch.optim's optimizers, everything else left as in the stub."""
    result = cheat("stub_race_on_torch_optim", STUB, COMPARE_WITH_TORCH_OPTIM)
    assert (result.score, result.max_score) == (0, 100)
    assert {t.name: t.status for t in result.tests} == dict.fromkeys(POINTS, "not_implemented")


def test_one_setting_read_from_the_defaults_is_named(cheat):
    """Momentum that takes the learning rate from each group but the momentum from the constructor's defaults."""
    momentum = next(strip_solution_markers(cell.source) for cell in nbformat.read(REFERENCE, as_version=4).cells
                    if cell.metadata.get("nbgrader", {}).get("grade_id") == "momentum")
    right = 'lr, mu = group["lr"], group["momentum"]'
    result = cheat("momentum_from_defaults", REFERENCE,
                   {"momentum": momentum.replace(right, 'lr, mu = group["lr"], self.defaults["momentum"]')})
    assert_loses_exactly(result, POINTS, {MOMENTUM_STEPS: "a group's own momentum is ignored"})


def test_nan_from_a_negative_v_is_not_blamed_on_the_step_counter(cheat):
    """A counter starting at 0 and a v that goes negative both make every value NaN at the first step; only the
    counter makes 0 / 0 where a gradient is 0, and only it is named."""
    adam = next(strip_solution_markers(cell.source) for cell in nbformat.read(REFERENCE, as_version=4).cells
                if cell.metadata.get("nbgrader", {}).get("grade_id") == "adam")
    wrong = "v = beta2 * state[\"v\"] - (1 - beta2) * g * g"
    result = cheat("adam_v_negative", REFERENCE, {"adam": adam.replace(wrong.replace(" - (1", " + (1"), wrong)})
    assert_loses_exactly(result, POINTS, {**dict.fromkeys(ADAM_STEPS, "square root of a negative number"),
                                          RACE: "held-out MSE of the adam model after"})
    assert not any("step counter" in t.message for t in result.tests)
