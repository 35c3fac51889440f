"""Notebook 05 exercise: early stopping — decide from the loss history when to stop training."""

from __future__ import annotations

from . import report

# (val losses of successive evaluations, patience, should we stop now?)
CASES = [
    ([4.1, 3.0, 2.5, 2.4], 2, False),  # still improving
    ([4.1, 3.0, 2.5, 2.6], 2, False),  # one worse evaluation: wait
    ([4.1, 3.0, 2.5, 2.6, 2.7], 2, True),  # two worse in a row: stop
    ([4.1, 3.0, 2.5, 2.6, 2.4, 2.45], 2, False),  # it recovered: the best is recent
    ([4.1, 3.0, 3.1], 1, True),
    ([4.1], 3, False),
]


def solution_should_stop(history: list[dict], patience: int) -> bool:
    """Stop when the best val loss is `patience` or more evaluations old."""
    val = [r["val_loss"] for r in history]
    best_index = val.index(min(val))
    return len(val) - 1 - best_index >= patience


def check_should_stop(your_fn) -> bool:
    """Runs `your_fn(history, patience)` on small loss histories and says whether it stops at the right time."""
    for val_losses, patience, expected in CASES:
        history = [{"step": 100 * i, "train_loss": 0.0, "val_loss": v} for i, v in enumerate(val_losses)]
        try:
            answer = your_fn(history, patience)
        except Exception as err:  # an attendee's half-written function: say what broke
            return report(False, "", f"your function raised {type(err).__name__}: {err}")
        if answer != expected:
            return report(
                False,
                "",
                f"val losses {val_losses} with patience={patience} should give {expected}, yours gave {answer!r}. "
                "Hint: find where the lowest val loss is, and count the evaluations after it.",
            )
    return report(True, "your early stopping stops exactly when the val loss has stopped improving.", "")
