"""Graded tests for the CNN assignment (100 points).

Convolutions are compared with F.conv2d in float64 on sizes that differ in every dimension (batch,
channels in and out, height and width, kernel height and width). The CNN is built in the student's
worker for two image sizes and two kernel sizes with channel counts that differ everywhere; its
weights are copied into the reference (in the public tests, which ship without the reference, into
torch's own layers assembled to the same architecture), which then computes the expected scores and
the known wrong variants, so that a failure names the mistake; an exception from the student's code that a
known mistake explains (a float size, a window or a bias of the wrong size, a name never assigned) fails the
test with that mistake named. Convergence is judged here: the model trains in the worker, and its trained
weights, copied into the reference, score the held-out shapes in data/, whose labels only the grader's tests
open: they never reach the worker.
"""


import functools
import math
import re
from contextlib import contextmanager
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from autograder import checks
from autograder.checks import CheckFailed
from autograder.datasets import digits_split
from autograder.errors import StudentCodeError
from autograder.remote import RemoteObject, observe
from autograder.unassigned import unassigned_mistake


def randn(*shape, seed=0, dtype=torch.float64):
    return torch.randn(*shape, dtype=dtype, generator=torch.Generator().manual_seed(seed))


_FLOAT_ERRORS = re.compile(r"'float' object cannot be interpreted as an integer|slice indices must be integers|"
                           r"tuple of ints, ?but got float")
FLOAT_SIZE = ("a float where a whole number is needed: in Python 3 `/` always gives a float (9 / 3 == 3.0), which "
              "range(), slices and layer sizes refuse; use floor division // for sizes and positions")
SWAPPED_PAD = ("F.pad's arguments are swapped: it is F.pad(x, (left, right, top, bottom)), the tensor first and the "
               "padding second")
SWAPPED_CROSS_ENTROPY = ("F.cross_entropy's arguments are swapped: it is F.cross_entropy(scores, labels), the (B, "
                         "n_classes) scores first and the int64 labels second")
_EINSUM = re.compile(r"einsum\(\): subscript \w has size (\d+) for operand \d+ which does not broadcast with "
                     r"previously seen size (\d+)")
_BROADCAST = re.compile(r"The size of tensor a \((\d+)\) must match the size of tensor b \((\d+)\)")
_VIEW = re.compile(r"shape '\[([-\d, ]+)\]' is invalid for input of size (\d+)")


def _conv2d_mistakes(message, weight, out):
    """Every known mistake a size error inside conv2d fits, for a kernel of shape `weight` (C_out, C_in, kH, kW)
    and an output of shape `out` (N, C_out, H_out, W_out); the sizes can leave more than one open (a window cut
    short at the edge can be as wide as the output)."""
    c_out, _, kH, kW = weight
    if (view := _VIEW.search(message)) and int(view[2]) == c_out:
        return [f"the bias, {c_out} numbers (one per output channel), is viewed as [{view[1]}]: view it as (1, "
                f"C_out, 1, 1) = (1, {c_out}, 1, 1), so that it broadcasts over the images and the positions"]
    clash = _EINSUM.search(message) or _BROADCAST.search(message)
    if clash is None:
        return []
    sizes, fits = {int(clash[1]), int(clash[2])}, []
    if clash.re is _BROADCAST and sizes == {c_out, out[3]}:
        fits.append(f"the bias ({c_out},) is added as it is, so broadcasting lines it up with the last axis, the "
                    f"output's width ({out[3]}): view it as (1, C_out, 1, 1) to add one value per output channel")
    if sizes & {kH, kW}:
        fits.append(f"a window multiplied with the kernel does not have the kernel's size (sizes {clash[1]} and "
                    f"{clash[2]} meet along one axis; the kernel is kH x kW = {kH} x {kW}): every window is "
                    f"x_padded[:, :, top:top + kH, left:left + kW], so check the slice bounds, and that each window "
                    f"lies inside the padded input")
    return fits


def _named_error(exc, call, conv=None):
    """A failure naming the mistake behind an exception from the student's code, or None if none is known;
    `conv` holds the kernel's and the output's shapes when conv2d is being called."""
    if _FLOAT_ERRORS.search(exc.message):
        mistakes = [FLOAT_SIZE]
    elif "pad(): argument 'input' (position 1) must be Tensor" in exc.message:
        mistakes = [SWAPPED_PAD]
    elif "not implemented for 'Long'" in exc.message or "expected scalar type Long" in exc.message:
        mistakes = [SWAPPED_CROSS_ENTROPY]
    elif unassigned := unassigned_mistake(exc):
        mistakes = [unassigned]
    else:
        mistakes = _conv2d_mistakes(exc.message, *conv) if conv else []
    if not mistakes:
        return None
    detail = f"\n{exc.traceback}" if exc.traceback else ""
    return CheckFailed(f"{call} raised {exc.type_name}: {exc.message}. Likely mistake: {'; or '.join(mistakes)}"
                       f"{detail}")


@contextmanager
def _naming(call, conv=None):
    """Turns an exception from the student's code that a known mistake explains into a failure naming it."""
    try:
        yield
    except StudentCodeError as exc:
        named = _named_error(exc, call, conv)
        if named is None:
            raise
        raise named from None


def _call(fn, call, *args, **kwargs):
    """fn(*args, **kwargs) in the worker, naming the mistake when it raises an exception a known one explains."""
    with _naming(call):
        return fn(*args, **kwargs)


def naming_mistakes(test):
    """The test fails with the mistake named when the student's code raises an exception a known one explains
    outside the calls that name their own."""
    @functools.wraps(test)
    def run(*args, **kwargs):
        with _naming("your code"):
            return test(*args, **kwargs)
    return run


OUTPUT_SIZE_CASES = [  # (size, kernel, stride, padding)
    (8, 3, 1, 1), (12, 5, 1, 2), (7, 3, 2, 0), (10, 4, 3, 1), (9, 2, 2, 0), (28, 5, 1, 0), (5, 3, 2, 1),
    (11, 3, 3, 2),
]


def _output_size_mistakes(n, k, s, p):
    return {
        "the + 1 is missing (the window at the very first position counts too)": (n + 2 * p - k) // s,
        "the padding is counted once, but it is added on both ends: size + 2 * padding": (n + p - k) // s + 1,
        "rounded up instead of down: use floor division //": -((k - n - 2 * p) // s) + 1,
        "the + 1 is added before dividing by the stride": (n + 2 * p - k + 1) // s,
        "the stride is ignored": n + 2 * p - k + 1,
    }


@pytest.mark.points(6)
@pytest.mark.public
@naming_mistakes
def test_conv_output_size(student):
    for n, k, s, p in OUTPUT_SIZE_CASES:
        call = f"conv_output_size({n}, {k}, stride={s}, padding={p})"
        _check_size(student.conv_output_size(n, k, s, p), (n + 2 * p - k) // s + 1, call,
                    _output_size_mistakes(n, k, s, p))
    _check_size(student.conv_output_size(9, 4), 6, "conv_output_size(9, 4) (default stride 1, padding 0)",
                _output_size_mistakes(9, 4, 1, 0))


def _check_size(got, expected, call, mistakes):
    if isinstance(got, float) and got == expected:
        raise CheckFailed(f"{call} returned the float {got!r}; sizes are whole numbers: return an int "
                          f"(use floor division //)")
    checks.returned(got, call)
    if type(got) is not int:
        what = got.remote_type if isinstance(got, RemoteObject) else type(got).__name__
        raise CheckFailed(f"{call} should return an int, got a {what}")
    if got != expected:
        named = [m for m, wrong in mistakes.items() if wrong == got and wrong != expected]
        hint = f". Likely mistake: {named[0]}" if named else ""
        raise CheckFailed(f"{call}: expected {expected}, got {got}{hint}")


X_SHAPE = (6, 3, 10, 7)  # N, C_in, H, W
W_SHAPE = (5, 3, 4, 2)  # C_out, C_in, kH, kW


def _conv_inputs(seed):
    return randn(*X_SHAPE, seed=seed), randn(*W_SHAPE, seed=seed + 1), randn(W_SHAPE[0], seed=seed + 2)


def _check_conv2d(student, x, w, b, stride, padding):
    name = f"conv2d(x, weight, {'bias' if b is not None else 'None'}, stride={stride}, padding={padding})"
    expected = F.conv2d(x, w, b, stride=stride, padding=padding)
    with _naming(name, conv=(tuple(w.shape), tuple(expected.shape))):
        got = student.conv2d(x, w, b, stride=stride, padding=padding)
    if got is None:
        raise CheckFailed(f"{name} returned None: is the return statement missing?")
    got = checks.expect_tensor(got, name)
    if got.shape != expected.shape:
        n, c, h, w_ = expected.shape
        wrong_shapes = {
            "the padding is ignored": F.conv2d(x, w, stride=stride).shape,
            "the stride is ignored (the window must move `stride` pixels at a time)":
                F.conv2d(x, w, padding=padding).shape,
            "the padding is added on one side only": F.conv2d(F.pad(x, (padding, 0, padding, 0)), w,
                                                              stride=stride).shape,
            "the + 1 of the output size is missing": (n, c, h - 1, w_ - 1),
            "the output size is rounded up instead of down": (
                n, c, -((w.shape[2] - x.shape[2] - 2 * padding) // stride) + 1,
                -((w.shape[3] - x.shape[3] - 2 * padding) // stride) + 1),
            "the kernel's height and width are swapped": (n, c, (x.shape[2] + 2 * padding - w.shape[3]) // stride + 1,
                                                          (x.shape[3] + 2 * padding - w.shape[2]) // stride + 1),
        }
        named = [mistake for mistake, shape in wrong_shapes.items() if tuple(got.shape) == tuple(shape)]
        if named:
            raise CheckFailed(f"{name}: expected shape {tuple(expected.shape)}, got {tuple(got.shape)}. "
                              f"Likely mistake: {', or '.join(named)}")
    mistakes = {"the kernel is flipped: conv2d in deep learning is a cross-correlation, the window is "
                "used as it is": F.conv2d(x, w.flip(-2, -1), b, stride=stride, padding=padding)}
    mistakes["the window sums never reach the output (only the bias is there): is each one assigned into y?"] = \
        F.conv2d(x, torch.zeros_like(w), b, stride=stride, padding=padding)
    if stride > 1:
        mistakes["the window moves one pixel at a time: the window of output (i, j) starts at row i * stride and "
                 "column j * stride of the padded input"] = \
            F.conv2d(x, w, b, padding=padding)[:, :, :expected.shape[2], :expected.shape[3]]
    if b is not None:
        mistakes["the bias is not added"] = F.conv2d(x, w, None, stride=stride, padding=padding)
        mistakes["the bias is subtracted instead of added"] = F.conv2d(x, w, -b, stride=stride, padding=padding)
        mistakes["the bias is added once per input channel"] = F.conv2d(x, w, b * x.shape[1], stride=stride,
                                                                        padding=padding)
    checks.assert_close(got, expected, name, mistakes=mistakes)


@pytest.mark.points(7)
@pytest.mark.public
@naming_mistakes
def test_conv2d_matches_F_conv2d(student):
    x, w, b = _conv_inputs(seed=0)
    _check_conv2d(student, x, w, b, stride=1, padding=0)
    library = [name for name in observe(student.conv2d, x, w, b, stride=1, padding=0).called
               if "conv" in name.rsplit(".", 1)[-1]]
    if library:
        raise CheckFailed(f"conv2d calls {library[0]}: the notebook asks you to compute the convolution yourself, "
                          "from windows of the padded input (F.pad and F.unfold are fine), not with F.conv2d or "
                          "nn.Conv2d")


def config(image_size, kernel_size, channels, hidden, n_classes, dropout=0.3):
    return dict(image_size=image_size, kernel_size=kernel_size, channels=channels, hidden=hidden,
                n_classes=n_classes, dropout=dropout)


CFG_8_K3 = config(8, 3, (4, 6), 20, 10)  # flattened: 6 * 2 * 2 = 24
CFG_DIGITS = config(8, 3, (8, 16), 64, 10, dropout=0.1)


def _describe(cfg):
    return "CNN(" + ", ".join(f"{k}={v!r}" for k, v in cfg.items()) + ")"


def _side_after_blocks(image_size, kernel_size, n_blocks, padding):
    side = image_size
    for _ in range(n_blocks):
        side = side + 2 * padding - kernel_size + 1
        side = side // 2 if side >= 2 else 0
    return side


def _flat_size(cfg, image_size=None, padding=None):
    """Features reaching the first dense layer (for another image size or padding, if given)."""
    k, channels = cfg["kernel_size"], cfg["channels"]
    side = _side_after_blocks(cfg["image_size"] if image_size is None else image_size, k, len(channels),
                              k // 2 if padding is None else padding)
    return channels[-1] * side * side


def _dense_input_hint(got, cfg):
    """Why the first dense layer has `got` inputs instead of the flattened size."""
    size, k = cfg["image_size"], cfg["kernel_size"]
    kept = size // 2 ** len(cfg["channels"])  # the side if every convolution kept it
    if k % 2 == 0 and got == cfg["channels"][-1] * kept * kept != _flat_size(cfg):
        return (f"the convolutions are assumed to keep the image size, which only an odd kernel does: with "
                f"kernel_size={k} and padding={k // 2} each convolution makes the side one pixel longer "
                f"(conv_output_size({size}, {k}, padding={k // 2}) = {size + 1}). Compute the side after every "
                f"convolution and every pool with conv_output_size")
    for other in (8, 12, 16, 28, 32):  # sizes someone may have had in mind when typing the number in
        if other != size and _flat_size(cfg, image_size=other) == got and _flat_size(cfg) != got:
            return (f"hard-coded dense input size: {got} is the flattened size for {other}x{other} images, but this "
                    f"model is built for image_size={size} ({_flat_size(cfg)} features). Compute in_features from "
                    f"image_size with conv_output_size instead of typing it in")
    if got == _flat_size(CFG_DIGITS):
        return (f"hard-coded dense input size: {got} is the flattened size of the default model (8x8 images, "
                f"channels (8, 16)); compute in_features from image_size and channels")
    for padding in range(0, k + 2):
        if padding != k // 2 and _flat_size(cfg, padding=padding) == got:
            return (f"wrong padding: {got} features is what convolutions with padding={padding} leave; this "
                    f"network pads by kernel_size // 2 = {k // 2}, which keeps the image size")
    return (f"the first dense layer must take channels[-1] * s * s = {_flat_size(cfg)} features, where s is the "
            f"side left after the blocks, computed with conv_output_size (if its own test fails, fix it first)")


def _shape_hint(got, expected, cfg, block):
    """What a wrong parameter shape says; `block` numbers the convolutions from 1 (0 for a dense layer)."""
    if len(expected) == 4 and len(got) == 4:
        if got == (expected[1], expected[0], *expected[2:]):
            return ("swapped Conv2d arguments: in_channels and out_channels are the wrong way round "
                    "(it is nn.Conv2d(in_channels, out_channels, kernel_size), and the first block has 1 input "
                    "channel)")
        if got[0] == expected[0] and got[2:] == expected[2:] and block == 1:
            return (f"the first convolution takes {got[1]} input channels; the images are grayscale, (N, 1, S, S), "
                    f"so it takes 1")
        if got[0] == expected[0] and got[2:] == expected[2:]:
            return (f"the convolution of block {block} takes {got[1]} input channels, but the block before it "
                    f"produces {expected[1]}: is c_in set to the previous block's c_out after each block?")
        if got[:2] == expected[:2]:
            return f"the kernel is {got[2]}x{got[3]}, expected {expected[2]}x{expected[3]}: pass kernel_size on"
    if len(expected) == 2 and len(got) == 2:
        if got == expected[::-1]:
            return "swapped Linear arguments: it is nn.Linear(in_features, out_features)"
        if got[0] == expected[0]:
            return _dense_input_hint(got[1], cfg)
    return None


def _left_out(got, expected):
    """The expected shapes missing from `got`, when `got` is `expected` with some left out, in order; else None."""
    rest = iter(expected)
    if len(got) >= len(expected) or not all(any(shape == e for e in rest) for shape in got):
        return None
    missing = list(expected)
    for shape in got:
        missing.remove(shape)
    return missing


def _check_parameters(state, ref, cfg, name):
    """The student's parameters must have the reference's shapes, in the reference's order."""
    expected = [(k, tuple(v.shape)) for k, v in ref.state_dict().items()]
    got = [(k, tuple(v.shape)) for k, v in state.items()]
    n_expected = sum(math.prod(s) for _, s in expected)
    n_got = sum(math.prod(s) for _, s in got)
    layout = ", ".join(str(s) for _, s in expected)
    if len(got) != len(expected):
        hint = ""
        if any("running_" in k or "num_batches" in k for k, _ in got):
            hint = ". Likely mistake: batch norm added; it is not part of this architecture"
        elif missing := _left_out([s for _, s in got], [s for _, s in expected]):
            hint = (f". Likely mistake: the layers with parameters {', '.join(map(str, missing))} are not part "
                    "of the model: a line of __init__ is missing, or the layers are kept in a plain Python list or "
                    "dict, which nn.Module does not register (use nn.ModuleList or nn.Sequential)")
        raise CheckFailed(f"{name} has {len(got)} parameter tensors ({n_got} numbers), expected {len(expected)} "
                          f"({n_expected} numbers) with shapes {layout}{hint}")
    block = 0
    for (key, shape), (_, ours) in zip(got, expected):
        block += len(ours) == 4
        if shape != ours:
            hint = _shape_hint(shape, ours, cfg, block if len(ours) == 4 else 0)
            raise CheckFailed(f"{name}: parameter {key!r} has shape {shape}, expected {ours} (the parameters in "
                              f"order should have shapes {layout}; {n_expected} numbers in all, yours has "
                              f"{n_got})" + (f". Likely mistake: {hint}" if hint else ""))


def _expected_cnn(cfg):
    """torch's own layers with the architecture the assignment asks for (public tests have no reference)."""
    k, widths = cfg["kernel_size"], [1, *cfg["channels"]]
    layers = []
    for c_in, c_out in zip(widths[:-1], widths[1:]):
        layers += [nn.Conv2d(c_in, c_out, k, padding=k // 2), nn.ReLU(), nn.MaxPool2d(2)]
    layers += [nn.Flatten(), nn.Linear(_flat_size(cfg), cfg["hidden"]), nn.ReLU(), nn.Dropout(cfg["dropout"]),
               nn.Linear(cfg["hidden"], cfg["n_classes"])]
    return nn.Sequential(*layers)


def _build(student, cfg, reference=None):
    """The student's model, the expected model holding the student's weights, and a name for messages.

    The expected model is the reference notebook's CNN, or torch's own layers when no reference is given.
    """
    name = _describe(cfg)
    model = _call(student.CNN, name, **cfg)
    if not isinstance(model, RemoteObject) or model.remote_type == "NoneType":
        raise CheckFailed(f"{name} should build an nn.Module")
    state = checks.state_dict_of(model, name)
    ref = reference.CNN(**cfg) if reference is not None else _expected_cnn(cfg)
    _check_parameters(state, ref, cfg, name)
    checks.copy_parameters(state, ref, name)
    return model, ref, name


_SIZE_ERRORS = re.compile(r"mat1 and mat2 shapes cannot be multiplied|Output size is too small|"
                          r"is invalid for input of size|Kernel size can't be greater")


def _forward(model, x, cfg, name):
    """model(x), naming the mistake when the activations reach the dense layers with the wrong size."""
    try:
        scores = model(x)
    except StudentCodeError as exc:
        named = _named_error(exc, f"{name}(x)")
        if named is not None:
            raise named from None
        if not _SIZE_ERRORS.search(exc.message):
            raise
        k = cfg["kernel_size"]
        raise CheckFailed(
            f"{name} failed on images of shape {tuple(x.shape)}: {exc.type_name}: {exc.message}. The parameter "
            f"shapes are right, so the feature maps reaching the first dense layer have the wrong size (flatten "
            f"size mismatch). Likely mistake: wrong padding: with kernel_size={k} the convolutions need "
            f"padding = kernel_size // 2 = {k // 2}, which keeps an odd kernel's image size (or the forward pass "
            f"does not apply "
            f"the blocks the size computation assumes)") from None
    if scores is None:
        raise CheckFailed(f"{name}(x) returned None: is the return statement of forward missing?")
    return scores


def _assert_deterministic(first, second, what, mistake):
    first, second = checks.expect_tensor(first, what), checks.expect_tensor(second, what)
    if first.shape == second.shape and torch.equal(first, second):
        return
    raise CheckFailed(f"{what}: two identical calls gave different scores. Likely mistake: {mistake}")


DROPOUT_IN_FORWARD = ("dropout left active at evaluation: after model.eval() dropout must be the identity "
                      "(nn.Dropout does that by itself; F.dropout(h, p) needs training=self.training)")


def _wrong_forwards(ref, x):
    """The reference's forward pass with one known mistake each, on the same weights."""
    convs = [m for m in ref.modules() if isinstance(m, nn.Conv2d)]
    dense = [m for m in ref.modules() if isinstance(m, nn.Linear)]

    def run(pool=F.max_pool2d, conv_relu=True, hwc=False, dense_relu=True):
        h = x
        for conv in convs:
            h = conv(h)
            h = F.relu(h) if conv_relu else h
            h = pool(h, 2)
        h = h.permute(0, 2, 3, 1) if hwc else h
        h = dense[0](h.flatten(1))
        h = F.relu(h) if dense_relu else h
        return dense[1](h)

    with torch.no_grad():
        return {
            "average pooling instead of max pooling": run(pool=F.avg_pool2d),
            "no ReLU after the convolutions": run(conv_relu=False),
            "no ReLU between the two dense layers": run(dense_relu=False),
            "the feature maps are flattened in (H, W, C) order; flatten the (N, C, H, W) tensor as it is":
                run(hwc=True),
            "softmax applied to the output: the model must return raw scores (logits)": F.softmax(run(), dim=1),
        }


def _check_shapes_and_parameters(student, cfg, reference=None):
    model, _, name = _build(student, cfg, reference)
    model.eval()
    size = cfg["image_size"]
    x = randn(5, 1, size, size, seed=size + cfg["kernel_size"], dtype=torch.float32)
    checks.assert_shape(_forward(model, x, cfg, name), (5, cfg["n_classes"]),
                        f"{name}(x) for images x of shape {tuple(x.shape)}")


@pytest.mark.points(5)
@pytest.mark.public
@naming_mistakes
def test_cnn_shapes_8x8_kernel3(student):
    _check_shapes_and_parameters(student, CFG_8_K3)


def _check_matches_reference(student, cfg, seed, reference=None):
    model, ref, name = _build(student, cfg, reference)
    model = model.double()
    model.eval()
    ref.double().eval()
    size = cfg["image_size"]
    x = randn(7, 1, size, size, seed=seed)
    what = f"{name}(x) in eval mode, float64, for images x of shape {tuple(x.shape)}"
    got = _forward(model, x, cfg, name)
    _assert_deterministic(got, model(x), what, DROPOUT_IN_FORWARD)
    with torch.no_grad():
        expected = ref(x)
    checks.assert_close(got, expected, what, mistakes=_wrong_forwards(ref, x))


@pytest.mark.points(7)
@pytest.mark.public
@naming_mistakes
def test_cnn_matches_reference_8x8_kernel3(student):
    _check_matches_reference(student, CFG_8_K3, seed=21)


def _digits():
    X_train, y_train, X_test, y_test = digits_split()
    return X_train.reshape(-1, 1, 8, 8), y_train, X_test.reshape(-1, 1, 8, 8), y_test


def _train(student, model, X, y, call, **kwargs):
    return _call(student.train, call, model, X, y, **kwargs)


def _check_losses(losses, epochs, call):
    checks.returned(losses, call)
    if isinstance(losses, (list, tuple)) and not losses:
        raise CheckFailed(f"{call} returned an empty list. Likely mistake: each epoch's mean loss is never "
                          "appended to the list train returns")
    if not isinstance(losses, (list, tuple)) or len(losses) != epochs:
        raise CheckFailed(f"{call} should return a list of {epochs} losses, one per epoch; got {losses!r:.80}")
    if any(type(v) is float and not math.isfinite(v) for v in losses):
        raise CheckFailed(f"{call} returned epoch losses that are NaN or infinite: {losses!r:.120}. The loss "
                          "blew up or an epoch's mean divides by zero")
    if not all(type(v) in (int, float) for v in losses):
        raise CheckFailed(f"{call} should return Python floats (use loss.item()); got {losses!r:.120}")
    return [float(v) for v in losses]


@pytest.mark.points(4)
@pytest.mark.public
@naming_mistakes
def test_train_loss_decreases_and_is_reproducible(student):
    X, y, _, _ = _digits()
    X, y = X[:320], y[:320]
    model, _, _ = _build(student, CFG_DIGITS)
    start = checks.state_dict_of(model)
    call = "train(model, X, y, epochs=5, lr=1e-2, batch_size=32, seed=3)"
    losses = _check_losses(_train(student, model, X, y, call, epochs=5, lr=1e-2, batch_size=32, seed=3), 5, call)
    if not losses[-1] < 0.6 * losses[0]:  # a correct train ends below 0.4 times the first epoch's loss
        steps = [b - a for a, b in zip(losses, losses[1:])]
        if all(0 < step < before for step, before in zip(steps, [losses[0], *steps])):
            raise CheckFailed(f"{call}: the epoch losses {[round(v, 4) for v in losses]} grow by less each epoch, "
                              f"as running sums do. Likely mistake: the running total is not reset at the start "
                              f"of each epoch, so every epoch adds to the one before")
        raise CheckFailed(f"{call}: the epoch losses {[round(v, 4) for v in losses]} do not go down (the last "
                          f"should be well below the first): are the gradients cleared, computed and applied "
                          f"for every minibatch?")
    model.load_state_dict(start)
    again = _check_losses(_train(student, model, X, y, call, epochs=5, lr=1e-2, batch_size=32, seed=3), 5, call)
    if not all(math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-6) for a, b in zip(losses, again)):
        raise CheckFailed(f"{call} gave losses {[round(v, 4) for v in losses]} and then "
                          f"{[round(v, 4) for v in again]} from the same starting weights: the run is not "
                          f"reproducible. Call torch.manual_seed(seed) at the start of train, and clear the old "
                          f"gradients (optimizer.zero_grad()) before every backward pass")
