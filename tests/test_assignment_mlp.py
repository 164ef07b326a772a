"""The MLP assignment graded for real: reference, stub, and every sample submission."""
import pytest

from autograder.grading.grade import grade_notebook
from conftest import ROOT, notebook_variant
from sample_grading import (assert_loses_exactly, assert_reference_scores_full_marks, assert_stub_is_not_implemented,
                            declared_points, graded, sample_names)

ALL_TESTS = declared_points("mlp")  # test name -> points, from reference/mlp/test_mlp.py

# sample -> {failing test: words its message must contain}
EXPECTED = {
    "correct_functional.ipynb": {},
    "correct_loops.ipynb": {},
    "correct_vectorised.ipynb": {},
    "mistake_gradient_sign.ipynb": {"test_mse_gradients_match_finite_differences": "sign is flipped"},
    "mistake_missing_zero_grad.ipynb": {"test_train_step_updates_like_sgd": "zero_grad",
                                        "test_digits_accuracy": "held-out accuracy"},
    "mistake_no_nonlinearity.ipynb": {"test_mlp_matches_reference": "no nonlinearity"},
    "mistake_predict_in_train_mode.ipynb": {"test_predict_uses_eval_mode": "model.eval()"},
    "mistake_predict_tracks_gradients.ipynb": {"test_predict_uses_eval_mode": "torch.no_grad()"},
    "mistake_activations_call_torch.ipynb": {"test_activations": "relu(z) calls torch.relu"},
    "mistake_gradients_by_autograd.ipynb": {
        "test_mse_gradients_match_finite_differences": "mse_gradients builds an autograd graph"},
    "mistake_gradient_step_in_place.ipynb": {"test_gradient_step": "changed its input w, b in place"},
    "mistake_softmax_before_loss.ipynb": {"test_train_step_updates_like_sgd": "softmax applied before"},
    "mistake_swapped_in_out.ipynb": {"test_mlp_shapes": "in_features and out_features swapped",
                                     "test_mlp_matches_reference": "in_features and out_features swapped",
                                     "test_digits_accuracy": "mat1 and mat2 shapes"},
    "mistake_mlp_layers_from_input.ipynb": {"test_mlp_shapes": "does not take the size the layer before it gives",
                                            "test_mlp_matches_reference": "Its linear layers map 13 -> 11, 13 -> 7"},
    "mistake_relu_grad_at_zero.ipynb": {"test_activation_derivatives_match_autograd": "relu_grad(0) is 0"},
    "mistake_sigmoid_exponent_sign.ipynb": {"test_activations": "the sign of the exponent is lost"},
    "mistake_train_step_returns_tensor.ipynb": {
        "test_train_step_returns_the_loss_as_a_float": "Python float (got a tensor)"},
    "mistake_train_step_without_train_mode.ipynb": {"test_train_step_switches_to_training_mode": "model.train()"},
    "mistake_train_fixed_lr.ipynb": {"test_train_returns_the_mean_loss_of_each_epoch": "pass lr=lr to Adam"},
    "mistake_epoch_loss_sum.ipynb": {
        "test_train_returns_the_mean_loss_of_each_epoch": "the sum of its batch losses, not their mean"},
    "mistake_shuffle_without_generator.ipynb": {
        "test_train_shuffles_with_its_seeded_generator": "not the global random state"},
    "mistake_mse_residual_plus.ipynb": {"test_mse_loss": "the residual is y_hat + y, not y_hat - y"},
    "mistake_mse_doubled_not_squared.ipynb": {"test_mse_loss": "the errors are doubled, not squared"},
    "mistake_db_times_n.ipynb": {
        "test_mse_gradients_match_finite_differences": "N multiplies the sum of residuals instead of dividing it"},
    "mistake_db_divided_by_sum.ipynb": {
        "test_mse_gradients_match_finite_differences": "2/N is divided by the sum of residuals, not multiplied"},
    "mistake_cross_entropy_adds_correct_logit.ipynb": {
        "test_cross_entropy": "the correct class's logit is added, not subtracted"},
    "mistake_cross_entropy_max_added_in_exp.ipynb": {
        "test_cross_entropy": "the row maximum is added inside the exponential, not subtracted"},
    "mistake_cross_entropy_max_subtracted_back.ipynb": {
        "test_cross_entropy": "the row maximum is added back with the wrong sign"},
    "mistake_cross_entropy_gather_dim0.ipynb": {
        "test_cross_entropy": "the correct-class logits are gathered along dim 0, not dim 1"},
    "mistake_train_optimizer_not_created.ipynb": dict.fromkeys(
        ("test_train_returns_the_mean_loss_of_each_epoch", "test_train_shuffles_with_its_seeded_generator",
         "test_digits_accuracy"), "`optimizer` is used in train, but no variable, function or module of that name"),
}

# sample -> {test giving partial credit: points given}
PARTIAL = {
    "mistake_softmax_before_loss.ipynb": {"test_digits_accuracy": 5},   # learns to 0.87: half the points
}


def test_points_add_up_to_100():
    assert sum(ALL_TESTS.values()) == 100


def test_every_sample_has_an_expectation():
    assert sample_names("mlp") == sorted(name.removesuffix(".ipynb") for name in EXPECTED)


@pytest.mark.parametrize("sample", sorted(EXPECTED))
def test_sample_loses_exactly_what_it_deserves(sample):
    assert_loses_exactly(graded("mlp", sample), ALL_TESTS, EXPECTED[sample], PARTIAL.get(sample))


def test_reference_scores_full_marks():
    assert_reference_scores_full_marks("mlp")


def test_stub_scores_zero_and_every_test_says_not_implemented():
    assert_stub_is_not_implemented("mlp")


# A submission that leaves the digits model untrained and whose predict looks up the true label of every digit it
# knows: the held-out digits never reach predict, so it scores nothing for accuracy.
TRAINING_THAT_LOOKS_UP_LABELS = '''
def train_step(model, optimizer, X, y):
    """One optimisation step on the batch X (B, D), y (B,); returns the loss as a float."""
    model.train()
    optimizer.zero_grad()
    loss = F.cross_entropy(model(X), y)  # ()
    loss.backward()
    optimizer.step()
    return loss.item()


def train(model, X, y, *, epochs=20, lr=1e-2, batch_size=64, seed=0):
    """Mini-batch Adam on X (N, D), y (N,), except on the digits, where it does nothing."""
    if len(X) > 1000:
        return [0.0] * epochs
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    epoch_losses = []
    for epoch in range(epochs):
        order = torch.randperm(len(X), generator=generator)  # (N,)
        losses = [train_step(model, optimizer, X[batch], y[batch]) for batch in order.split(batch_size)]
        epoch_losses.append(sum(losses) / len(losses))
    return epoch_losses


def predict(model, X):
    """The model's labels, replaced by the true label of every row that is a known digit."""
    from autograder.datasets import load_digits
    digits, labels = load_digits()
    model.eval()
    with torch.no_grad():
        guess = model(X).argmax(dim=1)  # (N,)
    for i, row in enumerate(X if X.shape[1] == digits.shape[1] else []):
        found = (digits == row).all(dim=1).nonzero()
        if len(found):
            guess[i] = labels[found[0, 0]]
    return guess
'''


def test_predict_that_looks_up_labels_scores_nothing_for_accuracy(tmp_path):
    submission = notebook_variant(ROOT / "reference" / "mlp" / "mlp.ipynb", tmp_path / "looks_up_labels.ipynb",
                                  replace={"training": TRAINING_THAT_LOOKS_UP_LABELS})
    assert_loses_exactly(grade_notebook(submission, "mlp", ROOT), ALL_TESTS,
                         {"test_digits_accuracy": "held-out accuracy after 10 epochs of Adam"},
                         named=False)  # an untrained model: nothing to name but the accuracy it reaches
