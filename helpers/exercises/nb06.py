"""Notebook 06 exercise: min-p sampling — keep the tokens at least `min_p` times as likely as the best one."""

from __future__ import annotations

import torch

from . import report


def solution_min_p_filter(probs: torch.Tensor, min_p: float) -> torch.Tensor:
    """Zero every probability below `min_p` × the largest one, then renormalise to sum to 1."""
    threshold = min_p * probs.max(dim=-1, keepdim=True).values
    kept = probs.masked_fill(probs < threshold, 0.0)
    return kept / kept.sum(dim=-1, keepdim=True)


def check_min_p(your_fn) -> bool:
    """Runs `your_fn(probs, min_p)` on a few distributions and compares with the right answer."""
    gen = torch.Generator().manual_seed(0)
    cases = [(torch.tensor([0.5, 0.3, 0.15, 0.05]), 0.5), (torch.tensor([0.5, 0.3, 0.15, 0.05]), 0.1)]
    cases += [(torch.softmax(3 * torch.randn(65, generator=gen), -1), p) for p in (0.05, 0.2, 1.0)]
    for probs, min_p in cases:
        try:
            answer = your_fn(probs.clone(), min_p)
            ok = (
                isinstance(answer, torch.Tensor)
                and answer.shape == probs.shape
                and torch.allclose(answer, solution_min_p_filter(probs, min_p), atol=1e-6)
            )
        except Exception as err:
            return report(False, "", f"your function raised {type(err).__name__}: {err}")
        if not ok:
            shown = [round(p, 3) for p in probs.tolist()[:4]]
            return report(
                False,
                "",
                f"for probs starting {shown} and min_p={min_p} the answer differs. Hint: the threshold is "
                "min_p × probs.max(); zero what is below it and divide by the new sum.",
            )
    return report(True, "min-p keeps the right tokens and sums to 1.", "")
