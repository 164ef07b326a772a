"""Graded tests for the multi-head attention assignment (100 points).

Everything is compared in float64, with sizes that differ in every dimension. The module is checked on
the submission's own weights, copied into the reference and into nn.MultiheadAttention. Known mistakes
are recomputed here, on the same weights and inputs, so that a failure can name the mistake.
"""


from __future__ import annotations
import math
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from autograder.checks import (CheckFailed, assert_close, assert_shape, copy_parameters, expect_tensor,
                               matching_mistake, state_dict_of)
from autograder.remote import vjp
N, H, L, S, D_MODEL = 2, 3, 5, 7, 12  # batch, heads, queries, keys, model width: all different
D_HEAD = D_MODEL // H                 # 4
D_V = 6                               # value width for the bare attention function
DOUBLE = torch.float64
MISSING_SCALE = "the scores are not divided by sqrt(d_k)"
WRONG_AXIS = ("the softmax normalises over the query axis instead of the key axis: use dim=-1, so that each "
              "query's weights over the keys sum to 1")
MASK_AFTER = ("the mask is applied after the softmax: set blocked scores to -inf before the softmax, so the "
              "allowed weights still sum to 1")
MASK_INVERTED = ("the mask is inverted: here True means 'may attend' (as in F.scaled_dot_product_attention), the "
                 "opposite of nn.MultiheadAttention's attn_mask; fill the scores where ~mask")
MASK_IGNORED = ("the mask has no effect: masked_fill returns a new tensor, so its result must be assigned "
                "(scores = scores.masked_fill(...))")


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


ATTENTION_MISTAKES = {
    MISSING_SCALE: {"scale": 1.0},
    WRONG_AXIS: {"softmax_dim": -2},
}
MASK_MISTAKES = {
    MASK_AFTER: {"mask_mode": "after"},
    MASK_INVERTED: {"mask_mode": "inverted"},
    MASK_IGNORED: {"mask_mode": "ignored"},
}


def attention_mistakes(Q, K, V, mask=None):
    """{mistake: (out, weights)} for the bare attention function."""
    table = dict(ATTENTION_MISTAKES, **(MASK_MISTAKES if mask is not None else {}))
    return {name: attention_variant(Q, K, V, mask, **how) for name, how in table.items()}


def outputs(mistakes):
    return {name: out for name, (out, _) in mistakes.items()}


def weights_of(mistakes):
    return {name: w for name, (_, w) in mistakes.items()}


def pair(result, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The (out, weights) pair a function or module returned, as tensors."""
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailed(f"{name} should return a pair (out, weights), got {type(result).__name__}")
    return expect_tensor(result[0], f"{name}: out"), expect_tensor(result[1], f"{name}: weights")


def check_pair(got, expected, name, mistakes):
    out, weights = pair(got, name)
    assert_close(out, expected[0], f"{name}: out", mistakes=outputs(mistakes))
    assert_close(weights, expected[1], f"{name}: weights", mistakes=weights_of(mistakes))


@pytest.mark.public
@pytest.mark.points(10)
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
def test_attention_mask_matches_pytorch(student, reference):
    Q, K, V = attention_inputs(seed=6)
    mask = mixed_mask(L, S)  # (L, S), broadcast over (N, h)
    got = student.scaled_dot_product_attention(Q, K, V, mask)
    expected_out = F.scaled_dot_product_attention(Q, K, V, attn_mask=mask)
    expected_weights = reference.scaled_dot_product_attention(Q, K, V, mask)[1]
    check_pair(got, (expected_out, expected_weights), "scaled_dot_product_attention with a (L, S) mask",
               attention_mistakes(Q, K, V, mask))


@pytest.mark.public
@pytest.mark.points(5)
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
