"""Graded tests for the multi-head attention assignment (100 points).

Everything is compared in float64, with sizes that differ in every dimension. The module is checked on
the submission's own weights, copied into the reference and into nn.MultiheadAttention. Known mistakes
are recomputed here, on the same weights and inputs, so that a failure can name the mistake; an exception
from the submission that a known mistake explains (K not transposed, view after a transpose, a float size)
fails the test with that mistake named.
"""


from __future__ import annotations
import math
import re
import pytest
import torch
import torch.nn.functional as F
from autograder import checks
from autograder.checks import CheckFailed, assert_close, assert_shape, expect_tensor, state_dict_of
from autograder.errors import StudentCodeError
from autograder.unassigned import unassigned_mistake
N, H, L, S, D_MODEL = 2, 3, 5, 7, 12  # batch, heads, queries, keys, model width: all different
D_HEAD = D_MODEL // H                 # 4
D_V = 6                               # value width for the bare attention function
DOUBLE = torch.float64
MISSING_SCALE = "the scores are not divided by sqrt(d_k)"
MULTIPLIED_SCALE = "the scores are multiplied by sqrt(d_k) instead of divided by it"
NO_SQRT_SCALE = "the scores are divided by d_k instead of sqrt(d_k)"
NEGATED_SCORES = ("the scores are negated: softmax(-Q K^T / sqrt(d_k)) gives the most weight to the least similar "
                  "keys")
WRONG_AXIS = ("the softmax normalises over the query axis instead of the key axis: use dim=-1, so that each "
              "query's weights over the keys sum to 1")
MASK_AFTER = ("the mask is applied after the softmax: set blocked scores to -inf before the softmax, so the "
              "allowed weights still sum to 1")
MASK_INVERTED = ("the mask is inverted: here True means 'may attend' (as in F.scaled_dot_product_attention), the "
                 "opposite of nn.MultiheadAttention's attn_mask; fill the scores where ~mask")
MASK_IGNORED = ("the mask has no effect: masked_fill returns a new tensor, so its result must be assigned "
                "(scores = scores.masked_fill(...))")
SPLIT_VIEW = ("the heads are split with a bare view(N, n_heads, L, d_head), which hands positions to heads: view "
              "as (N, L, n_heads, d_head) and then transpose(1, 2)")
MERGE_NO_TRANSPOSE = ("the heads are merged without transposing back: transpose (N, n_heads, L, d_head) to "
                      "(N, L, n_heads, d_head) before reshaping to (N, L, d_model)")
SPLIT_NO_TRANSPOSE = ("the heads are not moved in front of the positions: after view(N, L, n_heads, d_head), "
                      "transpose(1, 2) gives (N, n_heads, L, d_head)")


def wrong_axis_d_k(axis: int, size: int, d_k: int) -> str:
    return (f"d_k is read from axis {axis} of Q (size {size}), not from its last axis: d_k is the width of a query, "
            f"Q.shape[-1] = {d_k}, whatever leading dimensions Q has")


def merge_wrong_axes(a: int, b: int) -> str:
    return (f"the heads are merged after transpose({a}, {b}), which swaps the wrong pair of axes: transpose(1, 2) "
            "swaps heads and positions back, (N, n_heads, L, d_head) -> (N, L, n_heads, d_head)")


KEYS_NOT_TRANSPOSED = ("K is not transposed: the scores are Q @ K.transpose(-2, -1), (..., L, d_k) @ (..., d_k, S); "
                       "Q @ K multiplies (..., L, d_k) by (..., S, d_k)")
VIEW_AFTER_TRANSPOSE = ("view() after a transpose: a transposed tensor is no longer in memory order, so view cannot "
                        "regroup it; use .reshape(...) (or .contiguous().view(...)) when merging the heads")
FLOAT_SIZE = ("a size is a float: in Python 3 `/` always gives a float (12 / 3 == 4.0), which view and reshape "
              "refuse; use integer division, d_head = d_model // n_heads")
MASKED_FILL_ARGUMENTS = ("the arguments of masked_fill are swapped: it is scores.masked_fill(blocked, value), the "
                         "boolean tensor first and the fill value second")
RETURNS_NONE = ("None is used where a tensor is needed: is a return statement missing from split_heads, "
                "merge_heads or scaled_dot_product_attention (a function without one returns None)? Or is the "
                "optional mask used without checking `if mask is not None`?")
SPLIT_ARGUMENTS_SWAPPED = ("split_heads received an int where the (N, L, d_model) tensor it splits belongs: are its "
                           "arguments swapped? It is split_heads(x, n_heads), the tensor first")
VALID_SIZES_REFUSED = ("__init__ refuses a d_model that n_heads divides evenly (the tests use d_model=12 with 1 or 3 "
                       "heads): is the condition of its check inverted? It should refuse only when "
                       "d_model % n_heads != 0")


def randn(*shape: int, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=DOUBLE)


def mixed_mask(n_queries: int, n_keys: int) -> torch.Tensor:
    """(L, S): every row allows some keys and blocks others, under this convention and the inverted one."""
    i = torch.arange(n_queries)[:, None]
    j = torch.arange(n_keys)[None, :]
    return (i + 2 * j) % 3 != 0  # (L, S)


def attention_inputs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return randn(N, H, L, D_HEAD, seed=seed), randn(N, H, S, D_HEAD, seed=seed + 1), randn(N, H, S, D_V, seed=seed + 2)


def module_inputs(seed: int = 10) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Cross-attention: L queries over S keys and values."""
    return randn(N, L, D_MODEL, seed=seed), randn(N, S, D_MODEL, seed=seed + 1), randn(N, S, D_MODEL, seed=seed + 2)


def attention_variant(Q, K, V, mask=None, *, scale=None, softmax_dim=-1, mask_mode="before"):
    scale = 1 / math.sqrt(Q.shape[-1]) if scale is None else scale
    scores = Q @ K.transpose(-2, -1) * scale  # (..., L, S)
    if mask is not None and mask_mode == "before":
        scores = scores.masked_fill(~mask, float("-inf"))
    if mask is not None and mask_mode == "inverted":
        scores = scores.masked_fill(mask, float("-inf"))
    weights = torch.softmax(scores, dim=softmax_dim)  # (..., L, S)
    if mask is not None and mask_mode == "after":
        weights = weights.masked_fill(~mask, 0.0)
    return weights @ V, weights


def scale_mistakes(q_shape) -> dict[str, dict]:
    """Wrong scalings of the scores, for queries of shape (..., L, d_k)."""
    d_k = q_shape[-1]
    table = {MISSING_SCALE: {"scale": 1.0}, MULTIPLIED_SCALE: {"scale": math.sqrt(d_k)},
             NO_SQRT_SCALE: {"scale": 1 / d_k}, NEGATED_SCORES: {"scale": -1 / math.sqrt(d_k)}}
    for axis, size in enumerate(q_shape[:-1]):
        if size not in (1, d_k):
            table[wrong_axis_d_k(axis, size, d_k)] = {"scale": 1 / math.sqrt(size)}
    return table


ATTENTION_MISTAKES = {
    WRONG_AXIS: {"softmax_dim": -2},
}
MASK_MISTAKES = {
    MASK_AFTER: {"mask_mode": "after"},
    MASK_INVERTED: {"mask_mode": "inverted"},
    MASK_IGNORED: {"mask_mode": "ignored"},
}


def attention_mistakes(Q, K, V, mask=None):
    """{mistake: (out, weights)} for the bare attention function."""
    table = dict(scale_mistakes(Q.shape), **ATTENTION_MISTAKES, **(MASK_MISTAKES if mask is not None else {}))
    return {name: attention_variant(Q, K, V, mask, **how) for name, how in table.items()}


def outputs(mistakes):
    return {name: out for name, (out, _) in mistakes.items()}


def weights_of(mistakes):
    return {name: w for name, (_, w) in mistakes.items()}


_BATCHED_PRODUCT = re.compile(r"batch2 tensor to be: \[(\d+), (\d+)\] but got: \[(\d+), (\d+)\]")
_PRODUCT = re.compile(r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)")


def error_mistake(exc: StudentCodeError, d_k: int, n_keys: int) -> str | None:
    """The mistake an exception from the submission points to, if it is a known one; d_k and n_keys are the
    sizes the failing test gives a query and the keys."""
    message = f"{exc.type_name}: {exc.message}"
    batched, plain = _BATCHED_PRODUCT.search(message), _PRODUCT.search(message)
    if batched and (int(batched[2]), int(batched[4])) == (d_k, n_keys):
        return KEYS_NOT_TRANSPOSED  # (B, L, d_k) @ (B, S, d_k): the second factor should start with d_k
    if plain and (int(plain[2]), int(plain[3]), int(plain[4])) == (d_k, n_keys, d_k):
        return KEYS_NOT_TRANSPOSED
    if "view size is not compatible with input tensor's size and stride" in message:
        return VIEW_AFTER_TRANSPOSE
    if "tuple of ints" in message and "got float" in message:
        return FLOAT_SIZE
    if "masked_fill() received an invalid combination of arguments - got (float" in message:
        return MASKED_FILL_ARGUMENTS
    if "'NoneType' object has no attribute" in message or "not NoneType" in message:
        return RETURNS_NONE
    last_frame = exc.traceback.rsplit('File "<', 1)[-1]
    if exc.type_name in ("ValueError", "AssertionError") and "in __init__" in last_frame:
        return VALID_SIZES_REFUSED
    if "'int' object has no attribute" in message and "in split_heads" in last_frame:
        return SPLIT_ARGUMENTS_SWAPPED
    return unassigned_mistake(exc)


def naming_mistakes(d_k: int = D_HEAD, n_keys: int = S):
    """A test whose submission raises an exception a known mistake explains fails with a message naming it."""
    return checks.naming_mistakes(lambda exc: error_mistake(exc, d_k, n_keys))


def pair(result, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The (out, weights) pair a function or module returned, as tensors."""
    checks.returned(result, name)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailed(f"{name} should return a pair (out, weights), got {type(result).__name__}")
    return expect_tensor(result[0], f"{name}: out"), expect_tensor(result[1], f"{name}: weights")


def check_pair(got, expected, name, mistakes):
    out, weights = pair(got, name)
    assert_close(out, expected[0], f"{name}: out", mistakes=outputs(mistakes))
    assert_close(weights, expected[1], f"{name}: weights", mistakes=weights_of(mistakes))


@pytest.mark.public
@pytest.mark.points(10)
@naming_mistakes()
def test_attention_matches_pytorch(student, reference):
    Q, K, V = attention_inputs()
    got = student.scaled_dot_product_attention(Q, K, V)
    out, weights = pair(got, "scaled_dot_product_attention(Q, K, V)")
    mistakes = attention_mistakes(Q, K, V)
    assert_shape(out, (N, H, L, D_V), "scaled_dot_product_attention: out")
    assert_shape(weights, (N, H, L, S), "scaled_dot_product_attention: weights")
    assert_close(out, F.scaled_dot_product_attention(Q, K, V), "scaled_dot_product_attention: out",
                 mistakes=outputs(mistakes))
    assert_close(weights, reference.scaled_dot_product_attention(Q, K, V)[1], "scaled_dot_product_attention: weights",
                 mistakes=weights_of(mistakes))


@pytest.mark.public
@pytest.mark.points(5)
@naming_mistakes()
def test_attention_weights_are_distributions(student):
    Q, K, V = attention_inputs(seed=3)
    mask = mixed_mask(L, S)
    for name, m in (("without a mask", None), ("with a mask", mask)):
        _, weights = pair(student.scaled_dot_product_attention(Q, K, V, m),
                          f"scaled_dot_product_attention {name}")
        assert_shape(weights, (N, H, L, S), f"weights {name}")
        if (weights < 0).any():
            raise CheckFailed(f"weights {name}: some are negative ({weights.min().item():.3g})")
        sums = {mistake: w.sum(-1) for mistake, (_, w) in attention_mistakes(Q, K, V, m).items()}
        assert_close(weights.sum(-1), torch.ones(N, H, L, dtype=DOUBLE),
                     f"the weights {name}, summed over the keys (last axis)", mistakes=sums)


@pytest.mark.public
@pytest.mark.points(10)
@naming_mistakes()
def test_attention_mask_matches_pytorch(student, reference):
    Q, K, V = attention_inputs(seed=6)
    mask = mixed_mask(L, S)  # (L, S), broadcast over (N, h)
    got = student.scaled_dot_product_attention(Q, K, V, mask)
    expected_out = F.scaled_dot_product_attention(Q, K, V, attn_mask=mask)
    expected_weights = reference.scaled_dot_product_attention(Q, K, V, mask)[1]
    check_pair(got, (expected_out, expected_weights), "scaled_dot_product_attention with a (L, S) mask",
               attention_mistakes(Q, K, V, mask))


SPLIT_N, SPLIT_L, SPLIT_H, SPLIT_D_HEAD = 2, 5, 4, 3  # not the module's 3 heads of 4: hard-coded sizes show
SPLIT_D_MODEL = SPLIT_H * SPLIT_D_HEAD              # 12


def layout_mistake(shape: tuple[int, ...]) -> str | None:
    """What a wrong (N, h, L, d_head) layout of split_heads' result says about the code."""
    if shape == (SPLIT_N, SPLIT_L, SPLIT_H, SPLIT_D_HEAD):
        return SPLIT_NO_TRANSPOSE
    if shape == (SPLIT_N, SPLIT_D_HEAD, SPLIT_L, SPLIT_H):
        return ("d_model is split into (d_head, n_heads) instead of (n_heads, d_head): head i owns the consecutive "
                "features i*d_head to (i+1)*d_head - 1, so view as (N, L, n_heads, d_head)")
    return None


@pytest.mark.public
@pytest.mark.points(5)
@naming_mistakes()
def test_split_heads(student):
    x = randn(SPLIT_N, SPLIT_L, SPLIT_D_MODEL, seed=80)
    name = f"split_heads(x of shape {tuple(x.shape)}, n_heads={SPLIT_H})"
    got = student.split_heads(x, SPLIT_H)
    if got is None:
        raise CheckFailed(f"{name} returned None: is the return statement missing?")
    got = expect_tensor(got, name)
    mistake = layout_mistake(tuple(got.shape))
    if mistake:
        raise CheckFailed(f"{name}: expected shape {(SPLIT_N, SPLIT_H, SPLIT_L, SPLIT_D_HEAD)}, got "
                          f"{tuple(got.shape)}. Likely mistake: {mistake}")
    assert_shape(got, (SPLIT_N, SPLIT_H, SPLIT_L, SPLIT_D_HEAD), name)
    expected = x.view(SPLIT_N, SPLIT_L, SPLIT_H, SPLIT_D_HEAD).transpose(1, 2)  # (N, h, L, d_head)
    assert_close(got, expected, name, mistakes={SPLIT_VIEW: x.reshape(SPLIT_N, SPLIT_H, SPLIT_L, SPLIT_D_HEAD)})


@pytest.mark.public
@pytest.mark.points(5)
@naming_mistakes()
def test_merge_heads(student):
    heads = randn(SPLIT_N, SPLIT_H, SPLIT_L, SPLIT_D_HEAD, seed=81)  # (N, h, L, d_head)
    name = f"merge_heads(heads of shape {tuple(heads.shape)})"
    got = student.merge_heads(heads)
    if got is None:
        raise CheckFailed(f"{name} returned None: is the return statement missing?")
    expected = heads.transpose(1, 2).reshape(SPLIT_N, SPLIT_L, SPLIT_D_MODEL)  # (N, L, d_model)
    mistakes = {MERGE_NO_TRANSPOSE: heads.reshape(SPLIT_N, SPLIT_L, SPLIT_D_MODEL)}
    for a, b in ((0, 1), (0, 2), (0, 3), (1, 3), (2, 3)):
        mistakes[merge_wrong_axes(a, b)] = heads.transpose(a, b).reshape(SPLIT_N, SPLIT_L, SPLIT_D_MODEL)
    assert_close(got, expected, name, mistakes=mistakes)


@pytest.mark.public
@pytest.mark.points(5)
@naming_mistakes()
def test_module_shapes_in_cross_attention(student):
    module = student.MultiHeadAttention(D_MODEL, H)
    state = state_dict_of(module, "MultiHeadAttention")
    shapes = [tuple(v.shape) for v in state.values()]
    if shapes != [(D_MODEL, D_MODEL), (D_MODEL,)] * 4:
        raise CheckFailed(f"MultiHeadAttention({D_MODEL}, {H}) should hold exactly W_q, W_k, W_v, W_o, each a "
                          f"weight ({D_MODEL}, {D_MODEL}) and a bias ({D_MODEL},), in that order; its parameters "
                          f"and buffers have shapes {shapes}")
    query, key, value = (x.float() for x in module_inputs())
    out, weights = pair(module(query, key, value), "MultiHeadAttention()(query, key, value)")
    assert_shape(out, (N, L, D_MODEL), f"out for {L} queries over {S} keys")
    assert_shape(weights, (N, H, L, S), f"weights for {L} queries over {S} keys")
