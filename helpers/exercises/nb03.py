"""Notebook 03 exercise: causal scaled dot-product attention for one head, by hand."""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from . import attempt, report


def solution_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    T, head_size = q.size(-2), q.size(-1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(head_size)
    future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    weights = scores.masked_fill(future, float("-inf")).softmax(dim=-1)
    return weights @ v


def check_attention(your_fn) -> bool:
    """`your_fn(q, k, v)`, each (B, T, head_size), must return causal attention scaled by sqrt(head_size)."""
    g = torch.Generator().manual_seed(0)
    for B, T, head_size in [(1, 4, 2), (2, 8, 16), (3, 5, 64)]:
        q, k, v = (torch.randn(B, T, head_size, generator=g) for _ in range(3))
        want = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        got, problem = attempt(your_fn, q, k, v, where=f" for B={B}, T={T}, head_size={head_size}")
        if problem:
            return report(False, "", problem)
        if tuple(got.shape) != tuple(want.shape):
            return report(False, "", f"the output should have shape {tuple(want.shape)}, yours is {tuple(got.shape)}.")
        if not torch.allclose(got, want, atol=1e-5):
            first_ok = torch.allclose(got[:, 0], want[:, 0], atol=1e-5)
            hint = (
                "position 0 is right but later ones are not: check the scale (sqrt of head_size) and the softmax dim."
                if first_ok
                else "position 0 already differs: can it see the future? Mask scores above the diagonal."
            )
            return report(False, "", f"B={B}, T={T}, head_size={head_size}: {hint}")
    return report(True, "Right: that is exactly what F.scaled_dot_product_attention(..., is_causal=True) computes.", "")
