"""Notebook 02 exercise: cross-entropy by hand (softmax, pick the target's probability, -log, average)."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from . import attempt, report


def solution_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    probs = logits.softmax(dim=-1)  # (N, vocab), each row sums to 1
    target_probs = probs[torch.arange(len(targets)), targets]  # the probability given to the right answer
    return -target_probs.log().mean()


def check_cross_entropy(your_fn) -> bool:
    """`your_fn(logits, targets)` with logits (N, vocab) and targets (N,) must equal F.cross_entropy."""
    g = torch.Generator().manual_seed(0)
    cases = [
        ("all-zero logits (uniform guess)", torch.zeros(4, 65), torch.tensor([0, 1, 2, 64])),
        ("random logits", torch.randn(16, 65, generator=g), torch.randint(65, (16,), generator=g)),
        ("confident logits", 5 * torch.randn(8, 10, generator=g), torch.randint(10, (8,), generator=g)),
    ]
    for name, logits, targets in cases:
        want = F.cross_entropy(logits, targets)
        got, problem = attempt(your_fn, logits, targets, where=f" on {name}")
        if problem:
            return report(False, "", problem)
        got = torch.as_tensor(got, dtype=torch.float32)
        if got.numel() != 1 or not torch.allclose(got.reshape(()), want, atol=1e-4):
            return report(
                False,
                "",
                f"on {name} you got {got.flatten()[:3].tolist()}, expected {want.item():.4f}. "
                "Hint: softmax over the last dim, take each row's target column, -log, mean.",
            )
    return report(True, "Right: your cross-entropy equals PyTorch's (and gives ln(65) for a uniform guess).", "")
