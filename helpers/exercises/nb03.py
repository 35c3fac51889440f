"""Notebook 03 exercise: causal scaled dot-product attention for one head, by hand."""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from . import as_tensor, attempt, checker, describe, report


def solution_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    T, head_size = q.size(-2), q.size(-1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(head_size)
    future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    weights = scores.masked_fill(future, float("-inf")).softmax(dim=-1)
    return weights @ v


@checker
def check_attention(your_fn) -> bool:
    """`your_fn(q, k, v)`, each (B, T, head_size), must return causal attention scaled by sqrt(head_size).

    In any float dtype (or as a NumPy array): compared in float64 with float32's precision.
    """
    g = torch.Generator().manual_seed(0)
    for B, T, head_size in [(1, 4, 2), (2, 8, 16), (3, 5, 64)]:
        q, k, v = (torch.randn(B, T, head_size, generator=g) for _ in range(3))
        want = F.scaled_dot_product_attention(q.double(), k.double(), v.double(), is_causal=True)
        case = f"B={B}, T={T}, head_size={head_size}"
        got, problem = attempt(your_fn, q.clone(), k.clone(), v.clone(), where=f" for {case}", returns="the output")
        if problem:
            return report(False, "", problem)
        out = as_tensor(got)
        if out is None or tuple(out.shape) != tuple(want.shape):
            weights = out is not None and tuple(out.shape) == (B, T, T)
            return report(
                False,
                "",
                f"{case}: the output should have shape {tuple(want.shape)}, yours is {describe(got)}"
                + (": those look like the attention weights; multiply them by v." if weights else "."),
            )
        if not torch.allclose(out, want, rtol=1e-4, atol=1e-4):
            if torch.isnan(out).any():
                hint = "your output has NaN: a row with every score masked. Mask above the diagonal only (a position sees itself)."
            elif torch.allclose(out[:, 0], want[:, 0], rtol=1e-4, atol=1e-4):
                hint = "position 0 is right but later ones are not: check the scale (sqrt of head_size) and the softmax dim."
            else:
                hint = "position 0 already differs: can it see the future? Mask scores above the diagonal."
            return report(False, "", f"{case}: {hint}")
    return report(True, "Right: that is exactly what F.scaled_dot_product_attention(..., is_causal=True) computes.", "")
