"""The optimization assignment grades its sample submissions as intended: exact points per test, and the
failure a known mistake causes in the test aimed at it names that mistake."""
from __future__ import annotations

import pytest

from sample_grading import (assert_loses_exactly, assert_reference_scores_full_marks, assert_stub_is_not_implemented,
                            graded, sample_names)


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
