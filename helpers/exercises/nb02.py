"""Notebook 02 exercise: cross-entropy by hand (softmax, pick the target's probability, -log, average)."""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from . import as_tensor, attempt, checker, describe, report


def solution_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    probs = logits.softmax(dim=-1)  # (N, vocab), each row sums to 1
    target_probs = probs[torch.arange(len(targets)), targets]  # the probability given to the right answer
    return -target_probs.log().mean()


@checker
def check_cross_entropy(your_fn) -> bool:
    """`your_fn(logits, targets)` with logits (N, vocab) and targets (N,) must equal F.cross_entropy.

    One number, as a tensor of any float dtype, a NumPy value or a Python float.
    """
    g = torch.Generator().manual_seed(0)
    cases = [
        ("all-zero logits (uniform guess)", torch.zeros(4, 65), torch.tensor([0, 1, 2, 64])),
        ("random logits", torch.randn(16, 65, generator=g), torch.randint(65, (16,), generator=g)),
        ("confident logits", 5 * torch.randn(8, 10, generator=g), torch.randint(10, (8,), generator=g)),
    ]
    for name, logits, targets in cases:
        want = F.cross_entropy(logits.double(), targets).item()
        got, problem = attempt(your_fn, logits.clone(), targets.clone(), where=f" on {name}", returns="the loss")
        if problem:
            return report(False, "", problem)
        values = as_tensor(got)
        if values is None or values.numel() != 1:
            per_row = values is not None and values.numel() == len(targets)
            return report(
                False,
                "",
                f"on {name} you returned {describe(got)}: return one number, the mean"
                + (" (that looks like one loss per row: average them with .mean())." if per_row else "."),
            )
        value = values.item()
        if not math.isclose(value, want, rel_tol=1e-4, abs_tol=1e-4):
            if math.isclose(value, want * len(targets), rel_tol=1e-4):
                hint = "you summed the losses of the rows: take their mean."
            elif not math.isfinite(value):
                hint = "it is not a finite number: is a log taken of 0, or are the logits exponentiated unshifted?"
            else:
                hint = "softmax over the last dim, take each row's target column, -log, mean."
            return report(False, "", f"on {name} you got {value:.4f}, expected {want:.4f}. Hint: {hint}")
    return report(True, "Right: your cross-entropy equals PyTorch's (and gives ln(65) for a uniform guess).", "")
