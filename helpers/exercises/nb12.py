"""Notebook 12 exercise: how often a model prefers the chosen reply, per token (length-normalised)."""

from __future__ import annotations

import torch

from . import attempt, report

CASES = [  # chosen summed log-probs, chosen lengths, rejected summed log-probs, rejected lengths
    ([-10.0, -20.0], [10, 10], [-12.0, -18.0], [10, 10]),  # same lengths: plain comparison, 1 of 2
    ([-10.0], [5], [-12.0], [10]),  # per token -2 against -1.2: the longer reply wins despite its lower sum
    ([-6.0, -6.0, -1.0, -9.0], [3, 2, 1, 3], [-4.0, -9.0, -1.0, -10.0], [2, 3, 1, 3]),  # a tie is not a win
]


def solution_preference_accuracy(chosen_logps, chosen_lengths, rejected_logps, rejected_lengths) -> float:
    """The share of pairs whose chosen reply has the higher log-probability per token."""
    chosen = torch.as_tensor(chosen_logps, dtype=torch.float64) / torch.as_tensor(chosen_lengths)
    rejected = torch.as_tensor(rejected_logps, dtype=torch.float64) / torch.as_tensor(rejected_lengths)
    return (chosen > rejected).double().mean().item()


def check_preference_accuracy(your_fn) -> bool:
    """Runs `your_fn(chosen_logps, chosen_lengths, rejected_logps, rejected_lengths)` on lists and tensors."""
    for case in CASES:
        for as_tensors in (False, True):
            args = [torch.tensor(a) for a in case] if as_tensors else [list(a) for a in case]
            expected = solution_preference_accuracy(*case)
            kind = "tensors" if as_tensors else "lists"
            answer, problem = attempt(your_fn, *args, where=f" on {kind} {case}", returns="the share (a float)")
            if problem:
                return report(False, "", problem)
            try:
                value = float(answer)
            except (TypeError, ValueError, RuntimeError):
                shown = type(answer).__name__
                return report(False, "", f"on {case} you returned a {shown}: return one number between 0 and 1.")
            if not abs(value - expected) <= 1e-6:  # NaN is never close
                return report(
                    False,
                    "",
                    f"on {kind} {case} the answer is {expected:g}, yours is {value:g}. Hint: divide each summed "
                    "log-probability by its reply's length first, and count a tie as not preferred.",
                )
    return report(True, "you can score a preference model the way the notebook does.", "")
