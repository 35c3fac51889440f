"""Notebook 05 exercise: early stopping — decide from the loss history when to stop training."""

from __future__ import annotations

from . import as_bool, attempt, checker, describe, report

# (val losses of successive evaluations, patience, should we stop now?). No two val losses tie: the
# exercise does not say whether a repeat of the best counts as an improvement.
CASES = [
    ([4.1, 3.0, 2.5, 2.4], 2, False),  # still improving
    ([4.1, 3.0, 2.5, 2.6], 2, False),  # one worse evaluation: wait
    ([4.1, 3.0, 2.5, 2.6, 2.7], 2, True),  # two worse in a row: stop
    ([4.1, 3.0, 2.5, 2.7, 2.6], 2, True),  # two worse than the best, though the last went down
    ([4.1, 3.0, 2.5, 2.6, 2.4, 2.45], 2, False),  # it recovered: the best is recent
    ([4.1, 3.0, 3.1], 1, True),
    ([4.1, 3.5, 3.2, 3.3, 3.4, 3.6], 4, False),  # three evaluations since the best: not yet four
    ([4.1], 3, False),
]


def solution_should_stop(history: list[dict], patience: int) -> bool:
    """Stop when the best val loss is `patience` or more evaluations old."""
    val = [r["val_loss"] for r in history]
    best_index = val.index(min(val))
    return len(val) - 1 - best_index >= patience


def records(val_losses: list[float]) -> list[dict]:
    """Evaluation records as Trainer.fit returns them (train loss falling throughout, `best` flags set)."""
    history, best = [], float("inf")
    for i, val in enumerate(val_losses):
        history.append(
            {
                "step": 100 * i,
                "train_loss": 4.2 - 0.3 * i,
                "val_loss": val,
                "lr": 1e-3,
                "tokens_per_s": 5e4,
                "elapsed_s": 10.0 * i,
                "best": val < best,
            }
        )
        best = min(best, val)
    return history


@checker
def check_should_stop(your_fn) -> bool:
    """Runs `your_fn(history, patience)` on small loss histories and says whether it stops at the right time."""
    for val_losses, patience, expected in CASES:
        case = f"val losses {val_losses} with patience={patience}"
        got, problem = attempt(your_fn, records(val_losses), patience, where=f" for {case}", returns="True or False")
        if problem:
            return report(False, "", problem)
        answer = as_bool(got)
        if answer is None:
            return report(False, "", f"{case}: you returned {describe(got)}; return True or False.")
        if answer != expected:
            return report(
                False,
                "",
                f"{case} should give {expected}, yours gave {answer}. "
                "Hint: find where the lowest val loss is, and count the evaluations after it.",
            )
    return report(True, "your early stopping stops exactly when the val loss has stopped improving.", "")
