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
from torch import nn

from autograder import checks
from autograder.checks import (CheckFailed, assert_close, assert_shape, copy_parameters, expect_tensor,
                               matching_mistake, state_dict_of)
from autograder.errors import StudentCodeError
from autograder.remote import vjp
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
D_MODEL_SCALE = ("the scores are divided by sqrt(d_model) instead of sqrt(d_head) = sqrt(d_model / n_heads): "
                 "each head's dot products run over d_head features")
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
DROPOUT_AT_EVAL = ("dropout is active in evaluation mode: use nn.Dropout (switched off by .eval()), or pass "
                   "training=self.training to F.dropout, whose default is training=True")
WEIGHTS_AFTER_DROPOUT = ("the returned weights are taken after dropout: return A itself, whose rows sum to 1, and "
                         "apply dropout only to the copy of A that multiplies V")
SPLIT_NO_TRANSPOSE = ("the heads are not moved in front of the positions: after view(N, L, n_heads, d_head), "
                      "transpose(1, 2) gives (N, n_heads, L, d_head)")


def wrong_axis_d_k(axis: int, size: int, d_k: int) -> str:
    return (f"d_k is read from axis {axis} of Q (size {size}), not from its last axis: d_k is the width of a query, "
            f"Q.shape[-1] = {d_k}, whatever leading dimensions Q has")


def merge_wrong_axes(a: int, b: int) -> str:
    return (f"the heads are merged after transpose({a}, {b}), which swaps the wrong pair of axes: transpose(1, 2) "
            "swaps heads and positions back, (N, n_heads, L, d_head) -> (N, L, n_heads, d_head)")


# Mistakes that show up as an exception in the submission's code rather than as a wrong number.
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


# ------------------------------------------------------------------------------------------------
# Inputs
# ------------------------------------------------------------------------------------------------

def randn(*shape: int, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=DOUBLE)


def mixed_mask(n_queries: int, n_keys: int) -> torch.Tensor:
    """(L, S): every row allows some keys and blocks others, under this convention and the inverted one."""
    i = torch.arange(n_queries)[:, None]
    j = torch.arange(n_keys)[None, :]
    return (i + 2 * j) % 3 != 0  # (L, S)


def padding(lengths: list[int], n_keys: int) -> torch.Tensor:
    """(N, 1, 1, S): hides key positions at or beyond each example's length."""
    keep = torch.arange(n_keys)[None, :] < torch.tensor(lengths)[:, None]  # (N, S)
    return keep[:, None, None, :]


def attention_inputs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return randn(N, H, L, D_HEAD, seed=seed), randn(N, H, S, D_HEAD, seed=seed + 1), randn(N, H, S, D_V, seed=seed + 2)


def module_inputs(seed: int = 10) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Cross-attention: L queries over S keys and values."""
    return randn(N, L, D_MODEL, seed=seed), randn(N, S, D_MODEL, seed=seed + 1), randn(N, S, D_MODEL, seed=seed + 2)


# ------------------------------------------------------------------------------------------------
# Our own re-implementation with switchable mistakes, to recognise what a wrong answer did
# ------------------------------------------------------------------------------------------------

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


def mha_variant(params, query, key, value, mask=None, *, n_heads=H, split="transpose", merge="transpose",
                **attention):
    W_q, b_q, W_k, b_k, W_v, b_v, W_o, b_o = params

    def split_heads(x):
        n, t, d = x.shape
        if split == "view":
            return x.reshape(n, n_heads, t, d // n_heads)
        return x.reshape(n, t, n_heads, d // n_heads).transpose(1, 2)

    Q, K, V = split_heads(F.linear(query, W_q, b_q)), split_heads(F.linear(key, W_k, b_k)), \
        split_heads(F.linear(value, W_v, b_v))
    heads, weights = attention_variant(Q, K, V, mask, **attention)  # (N, h, L, d_head), (N, h, L, S)
    n, h, t, d_head = heads.shape
    merged = heads.reshape(n, t, h * d_head) if merge == "view" else heads.transpose(1, 2).reshape(n, t, h * d_head)
    return F.linear(merged, W_o, b_o), weights


def mha_mistakes(params, query, key, value, mask=None, n_heads=H):
    """{mistake: (out, weights)} for the module, on the given weights."""
    d_model = params[0].shape[0]
    heads_shape = (query.shape[0], n_heads, query.shape[1], d_model // n_heads)  # the queries each head sees
    table = dict(scale_mistakes(heads_shape), **ATTENTION_MISTAKES, **(MASK_MISTAKES if mask is not None else {}))
    table.update({D_MODEL_SCALE: {"scale": 1 / math.sqrt(d_model)}, SPLIT_VIEW: {"split": "view"},
                  MERGE_NO_TRANSPOSE: {"merge": "view"}})
    return {name: mha_variant(params, query, key, value, mask, n_heads=n_heads, **how) for name, how in table.items()}


def outputs(mistakes):
    return {name: out for name, (out, _) in mistakes.items()}


def weights_of(mistakes):
    return {name: w for name, (_, w) in mistakes.items()}


# ------------------------------------------------------------------------------------------------
# Talking to the submission
# ------------------------------------------------------------------------------------------------

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


def student_module(student, reference, d_model=D_MODEL, n_heads=H, dropout=0.0):
    """The student's module in float64 evaluation mode, and the reference module carrying its weights."""
    module = student.MultiHeadAttention(d_model, n_heads, dropout)
    module.double()
    module.eval()
    ours = reference.MultiHeadAttention(d_model, n_heads, dropout).double().eval()
    copy_parameters(state_dict_of(module, "MultiHeadAttention"), ours, "MultiHeadAttention")
    return module, ours


def params_of(module: nn.Module) -> list[torch.Tensor]:
    return [p.detach() for p in module.parameters()]


def check_pair(got, expected, name, mistakes):
    out, weights = pair(got, name)
    assert_close(out, expected[0], f"{name}: out", mistakes=outputs(mistakes))
    assert_close(weights, expected[1], f"{name}: weights", mistakes=weights_of(mistakes))


# ------------------------------------------------------------------------------------------------
# 1. Scaled dot-product attention
# ------------------------------------------------------------------------------------------------

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


@pytest.mark.points(5)
@naming_mistakes()
def test_masked_keys_get_no_weight_and_no_influence(student):
    Q, K, V = attention_inputs(seed=9)
    mask = padding([S - 2, S - 3], S)  # (N, 1, 1, S): the last keys of each example are hidden from every query
    out, weights = pair(student.scaled_dot_product_attention(Q, K, V, mask), "scaled_dot_product_attention")
    assert_shape(weights, (N, H, L, S), "weights")
    blocked = ~mask.expand(N, H, L, S)
    worst = weights[blocked].abs().max().item() if not torch.isnan(weights[blocked]).any() else float("nan")
    if not worst <= 1e-9:
        message = f"blocked keys get weight up to {worst:.3g}; they should get 0 (at most 1e-9)"
        mistake = matching_mistake(weights, weights_of(attention_mistakes(Q, K, V, mask)))
        raise CheckFailed(f"likely mistake: {mistake}. {message}" if mistake else message)
    V_changed = V.clone()
    V_changed[blocked[..., 0, :, None].expand(N, H, S, D_V)] = 100.0  # new values at the hidden keys only
    out_changed, _ = pair(student.scaled_dot_product_attention(Q, K, V_changed, mask), "scaled_dot_product_attention")
    assert_close(out_changed, out, "the output after changing the values of blocked keys (it must not change)",
                 mistakes=outputs(attention_mistakes(Q, K, V_changed, mask)))


# ------------------------------------------------------------------------------------------------
# 2. Splitting and merging heads, on their own
# ------------------------------------------------------------------------------------------------

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


# ------------------------------------------------------------------------------------------------
# 3. The module
# ------------------------------------------------------------------------------------------------

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


@pytest.mark.points(10)
@naming_mistakes()
def test_module_matches_reference(student, reference):
    module, ours = student_module(student, reference)
    query, key, value = module_inputs()
    with torch.no_grad():
        expected = ours(query, key, value)
    mistakes = mha_mistakes(params_of(ours), query, key, value)
    check_pair(module(query, key, value), expected, "MultiHeadAttention (cross-attention, no mask)", mistakes)


@pytest.mark.points(10)
@naming_mistakes()
def test_module_matches_nn_multihead_attention(student, reference):
    module, ours = student_module(student, reference)
    W_q, b_q, W_k, b_k, W_v, b_v, W_o, b_o = params = params_of(ours)
    torch_mha = nn.MultiheadAttention(D_MODEL, H, batch_first=True, dtype=DOUBLE).eval()
    with torch.no_grad():
        torch_mha.in_proj_weight.copy_(torch.cat([W_q, W_k, W_v]))
        torch_mha.in_proj_bias.copy_(torch.cat([b_q, b_k, b_v]))
        torch_mha.out_proj.weight.copy_(W_o)
        torch_mha.out_proj.bias.copy_(b_o)
    query, key, value = module_inputs(seed=20)
    mask = mixed_mask(L, S)
    for name, m in (("no mask", None), ("an (L, S) mask", mask)):
        with torch.no_grad():
            expected = torch_mha(query, key, value, attn_mask=None if m is None else ~m, need_weights=True,
                                 average_attn_weights=False)
        check_pair(module(query, key, value, m), expected,
                   f"MultiHeadAttention against nn.MultiheadAttention with the same weights, {name}",
                   mha_mistakes(params, query, key, value, m))


@pytest.mark.points(10)
@naming_mistakes()
def test_module_mask(student, reference):
    module, ours = student_module(student, reference)
    query, key, value = module_inputs(seed=30)
    mask = mixed_mask(L, S) & padding([S, S - 2], S)  # (N, 1, L, S): a pattern and per-example padding
    with torch.no_grad():
        expected = ours(query, key, value, mask)
    check_pair(module(query, key, value, mask), expected, "MultiHeadAttention with an (N, 1, L, S) mask",
               mha_mistakes(params_of(ours), query, key, value, mask))


@pytest.mark.points(5)
@naming_mistakes(d_k=D_MODEL)
def test_one_head_is_plain_attention(student, reference):
    module, ours = student_module(student, reference, n_heads=1)
    W_q, b_q, W_k, b_k, W_v, b_v, W_o, b_o = params = params_of(ours)
    query, key, value = module_inputs(seed=40)
    Q, K, V = (F.linear(x, W, b)[:, None] for x, W, b in ((query, W_q, b_q), (key, W_k, b_k), (value, W_v, b_v)))
    heads, weights = reference.scaled_dot_product_attention(Q, K, V)  # (N, 1, L, d_model), (N, 1, L, S)
    expected = (F.linear(heads[:, 0], W_o, b_o), weights)
    check_pair(module(query, key, value), expected, "MultiHeadAttention with one head",
               mha_mistakes(params, query, key, value, n_heads=1))


@pytest.mark.points(5)
@naming_mistakes(n_keys=L)
def test_self_attention_is_permutation_equivariant(student, reference):
    module, ours = student_module(student, reference)
    x = randn(N, L, D_MODEL, seed=50)
    order = torch.tensor([3, 0, 4, 1, 2])
    shuffled = x[:, order]
    out, weights = pair(module(x, x, x), "MultiHeadAttention (self-attention)")
    out_shuffled, weights_shuffled = pair(module(shuffled, shuffled, shuffled),
                                          "MultiHeadAttention (self-attention on the shuffled sequence)")
    mistakes = mha_mistakes(params_of(ours), shuffled, shuffled, shuffled)
    assert_close(out_shuffled, out[:, order], "self-attention output for a shuffled sequence (it should be the "
                 "output for the sequence, shuffled the same way)", mistakes=outputs(mistakes))
    assert_close(weights_shuffled, weights[:, :, order][..., order], "self-attention weights for a shuffled "
                 "sequence (rows and columns should be shuffled the same way)", mistakes=weights_of(mistakes))


@pytest.mark.points(5)
@naming_mistakes()
def test_gradients_reach_every_projection(student, reference):
    module = student.MultiHeadAttention(D_MODEL, H, 0.0)
    module.double()
    module.eval()
    wrapped = student.FirstOutput(module)
    query, key, value = module_inputs(seed=60)
    grad_output = randn(N, L, D_MODEL, seed=63)
    result = vjp(wrapped, query, key, value, mask=mixed_mask(L, S), grad_output=grad_output, wrt=(0, 1, 2))
    assert_shape(result.output, (N, L, D_MODEL), "out")
    for name, x, grad in zip(("query", "key", "value"), (query, key, value), result.input_grads):
        if grad is None:
            raise CheckFailed(f"the {name} gets no gradient: is it detached somewhere?")
        assert_shape(grad, tuple(x.shape), f"gradient of the {name}")
        if not torch.isfinite(grad).all() or grad.abs().max() == 0:
            what = "not finite" if not torch.isfinite(grad).all() else "zero"
            raise CheckFailed(f"the gradient of the {name} is {what}")
    grads = list(result.param_grads.items())
    if len(grads) != 8:
        raise CheckFailed(f"expected 8 parameters (weight and bias of W_q, W_k, W_v, W_o), found {len(grads)}: "
                          f"{[name for name, _ in grads]}")
    projections = ("W_q", "W_k", "W_v", "W_o")
    for index, (name, grad) in enumerate(grads):
        projection, part = projections[index // 2], ("weight", "bias")[index % 2]
        label = f"{name} ({projection} {part})"
        if grad is None:
            raise CheckFailed(f"{label} gets no gradient: it is cut out of the computation (.detach(), .data, "
                              f"or a tensor rebuilt from numbers?)")
        grad = expect_tensor(grad, f"gradient of {label}")
        if not torch.isfinite(grad).all():
            raise CheckFailed(f"the gradient of {label} is not finite")
        # The key bias shifts a whole row of scores by the same amount, which the softmax ignores: its
        # gradient is zero. Every other parameter must move the output.
        if (projection, part) != ("W_k", "bias") and grad.abs().max() == 0:
            raise CheckFailed(f"the gradient of {label} is zero: the output does not depend on it")


@pytest.mark.points(10)
@naming_mistakes()
def test_dropout_in_training_only(student):
    module = student.MultiHeadAttention(D_MODEL, H, 0.5)
    module.double()
    module.eval()
    query, key, value = module_inputs(seed=70)
    first, first_weights = pair(module(query, key, value), "MultiHeadAttention in evaluation mode")
    second, _ = pair(module(query, key, value), "MultiHeadAttention in evaluation mode")
    if not torch.equal(first, second):
        raise CheckFailed("in evaluation mode (after .eval()) two calls on the same input give different outputs. "
                          f"Likely mistake: {DROPOUT_AT_EVAL}")
    # In training mode, many copies of one example: each is thinned differently, and on average dropout
    # (with its 1/(1-p) rescaling) leaves the output unchanged.
    copies = 4000
    module.train()
    train_out, train_weights = pair(module(query[:1].expand(copies, L, D_MODEL), key[:1].expand(copies, S, D_MODEL),
                                           value[:1].expand(copies, S, D_MODEL)), "MultiHeadAttention in training mode")
    assert_shape(train_out, (copies, L, D_MODEL), "out in training mode")
    spread = (train_out - first[:1]).abs().amax(dim=(1, 2))  # (copies,)
    if not (spread > 1e-6).float().mean() > 0.9:
        raise CheckFailed("in training mode with dropout=0.5 the output is (almost always) the same as in "
                          "evaluation mode: apply dropout to the attention weights during training")
    scale = first[:1].abs().mean()
    error = ((train_out.mean(0, keepdim=True) - first[:1]).abs().max() / scale).item()
    if error > 0.2:  # measured: at most 0.065 for correct layers, at least 0.5 without the rescaling
        raise CheckFailed(f"in training mode the output averaged over {copies} dropout draws differs from the "
                          f"evaluation output by {error:.2f} (relative); dropout must rescale the kept weights by "
                          "1/(1-p) so the expected output is unchanged")
    # The weights returned are A itself, before dropout: the same in both modes.
    assert_shape(train_weights, (copies, H, L, S), "weights in training mode")
    if not torch.allclose(train_weights, first_weights[:1].expand(copies, H, L, S)):
        if torch.allclose(train_weights.sum(-1), torch.ones(copies, H, L, dtype=DOUBLE)):
            raise CheckFailed("in training mode the returned weights differ from those in evaluation mode, yet each "
                              "row sums to 1. Likely mistake: dropout is applied to the scores, before the softmax; "
                              "apply it to the weights A, just before they multiply V, and return A as it is")
        raise CheckFailed(f"in training mode the returned weights differ from those in evaluation mode. Likely "
                          f"mistake: {WEIGHTS_AFTER_DROPOUT}")
