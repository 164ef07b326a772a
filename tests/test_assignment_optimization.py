"""The optimization assignment grades its sample submissions as intended: exact points per test, and the
failure a known mistake causes in the test aimed at it names that mistake."""
from __future__ import annotations

from pathlib import Path

import pytest

from autograder.grading import grade_notebook

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "examples" / "submissions" / "optimization"

POINTS = {
    "test_sgd_matches_torch": 10,
    "test_momentum_matches_torch_sgd_with_momentum": 15,
    "test_adam_matches_torch_with_default_betas_and_eps": 15,
    "test_adam_matches_torch_with_other_hyperparameters": 15,
    "test_fit_trains_with_the_given_optimizer": 15,
    "test_each_optimizer_trains_its_own_model": 10,
    "test_adam_beats_momentum_beats_sgd": 20,
}

ADAM_STEPS = ("test_adam_matches_torch_with_default_betas_and_eps",
              "test_adam_matches_torch_with_other_hyperparameters")
RACE = "test_adam_beats_momentum_beats_sgd"

# sample -> {failing test: a phrase its message must contain}; every other test must pass.
# The race fails as a consequence of some mistakes; its message reports the held-out losses.
EXPECTED: dict[str, dict[str, str]] = {
    "correct_alternative": {},
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
    "mistake_momentum_velocity_wrong_order": {
        "test_momentum_matches_torch_sgd_with_momentum": "velocity updated in the wrong order",
        RACE: "the momentum model should reach",
    },
    "mistake_optimizer_wrong_model_parameters": {
        "test_each_optimizer_trains_its_own_model": "optimizer given the wrong model's parameters",
        RACE: "the momentum model should reach",
    },
    "mistake_fit_missing_zero_grad": {
        "test_fit_trains_with_the_given_optimizer": "missing zero_grad",
        RACE: "held-out MSE after 300 steps",
    },
}

# Where the first message should also carry the size of the uncorrected first step.
EXTRA_PHRASES = {
    ("mistake_adam_missing_bias_correction", "test_adam_matches_torch_with_default_betas_and_eps"): "3.16·lr",
}

_results: dict[str, object] = {}


def graded(sample: str):
    """Each sample is graded once per test session."""
    if sample not in _results:
        _results[sample] = grade_notebook(SAMPLES / f"{sample}.ipynb", "optimization", root=ROOT)
    return _results[sample]


def test_points_add_up_to_100():
    assert sum(POINTS.values()) == 100


def test_every_sample_is_listed():
    assert {p.stem for p in SAMPLES.glob("*.ipynb")} == set(EXPECTED)


@pytest.mark.parametrize("sample", sorted(EXPECTED))
def test_sample_scores(sample):
    failing = EXPECTED[sample]
    result = graded(sample)
    assert result.status == "graded" and not result.cell_errors, (result.error, result.cell_errors)
    by_name = {t.name: t for t in result.tests}
    assert set(by_name) == set(POINTS)
    for name, points in POINTS.items():
        test = by_name[name]
        assert test.max_score == points, name
        if name in failing:
            assert (test.status, test.score) == ("failed", 0), (name, test.status, test.message)
            assert failing[name] in test.message, (name, test.message)
            extra = EXTRA_PHRASES.get((sample, name))
            assert extra is None or extra in test.message, (name, test.message)
        else:
            assert (test.status, test.score) == ("passed", points), (name, test.status, test.message)
    assert result.score == 100 - sum(POINTS[name] for name in failing)


def test_stub_is_not_implemented():
    stub = ROOT / "assignments" / "optimization" / "optimization.ipynb"
    if not stub.is_file():
        pytest.skip("no released stub (run `grade release`)")
    result = grade_notebook(stub, "optimization", root=ROOT)
    assert result.score == 0
    assert {t.status for t in result.tests} == {"not_implemented"}
