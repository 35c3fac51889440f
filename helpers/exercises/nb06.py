"""Notebook 06 exercise: min-p sampling — keep the tokens at least `min_p` times as likely as the best one."""

from __future__ import annotations

import torch

from . import as_tensor, attempt, checker, describe, report


def solution_min_p_filter(probs: torch.Tensor, min_p: float) -> torch.Tensor:
    """Zero every probability below `min_p` × the largest one, then renormalise to sum to 1."""
    threshold = min_p * probs.max(dim=-1, keepdim=True).values
    kept = probs.masked_fill(probs < threshold, 0.0)
    return kept / kept.sum(dim=-1, keepdim=True)


def cases() -> list[tuple[torch.Tensor, float]]:
    """Distributions and min_p values. The second puts two probabilities exactly on the threshold (numbers a
    float holds exactly), where "at least" keeps them; the last keeps the likeliest alone."""
    gen = torch.Generator().manual_seed(0)
    simple = [(torch.tensor([0.5, 0.3, 0.15, 0.05]), 0.5), (torch.tensor([0.5, 0.25, 0.125, 0.125]), 0.25)]
    return simple + [(torch.softmax(3 * torch.randn(65, generator=gen), -1), p) for p in (0.05, 0.2, 1.0)]


@checker
def check_min_p(your_fn) -> bool:
    """Runs `your_fn(probs, min_p)` on a few distributions and compares with the right answer.

    The answer may be a tensor of any float dtype, a NumPy array or a list, of the shape of `probs`.
    """
    for probs, min_p in cases():
        shown = [round(p, 3) for p in probs.tolist()[:4]]
        case = f"probs starting {shown} and min_p={min_p}"
        got, problem = attempt(your_fn, probs.clone(), min_p, where=f" for {case}", returns="the new probabilities")
        if problem:
            return report(False, "", problem)
        answer, want = as_tensor(got), solution_min_p_filter(probs.double(), min_p)
        if answer is None or answer.shape != want.shape:
            return report(
                False,
                "",
                f"for {case} you returned {describe(got)}; return probabilities of the shape of probs, {tuple(probs.shape)}.",
            )
        if torch.allclose(answer, want, rtol=1e-5, atol=1e-6):
            continue
        kept, want_kept = int((answer > 0).sum()), int((want > 0).sum())
        if kept != want_kept:
            hint = (
                f"you kept {kept} probabilities, min-p keeps {want_kept}. The threshold is min_p × probs.max(), "
                "and 'at least' keeps a probability equal to it."
            )
        elif not torch.isclose(answer.sum(), torch.tensor(1.0, dtype=torch.float64), atol=1e-5):
            hint = f"the right ones are kept, but they sum to {answer.sum().item():.4f}: divide by their sum."
        else:
            hint = "the threshold is min_p × probs.max(); zero what is below it and divide by the new sum."
        return report(False, "", f"for {case} the answer differs: {hint}")
    return report(True, "min-p keeps the right tokens and sums to 1.", "")
