"""Notebook 01 exercise: cut one (context, target) pair out of the data by hand."""

from __future__ import annotations

import torch

from . import as_tensor, attempt, checker, describe, report


def solution_window(data: torch.Tensor, start: int, block_size: int):
    x = data[start : start + block_size]
    y = data[start + 1 : start + block_size + 1]  # the same window, one character later
    return x, y


def token_ids(row: torch.Tensor) -> list:
    """A row read as float64, shown as the whole numbers it holds (100, not 100.0)."""
    return [int(v) if float(v).is_integer() else v for v in row.tolist()]


@checker
def check_window(your_fn) -> bool:
    """`your_fn(data, start, block_size)` must return (x, y): block_size tokens from `start`, and y one later.

    x and y may be tensors of any integer or float dtype, NumPy arrays or lists.
    """
    data = torch.arange(100, 140)
    for start, block_size in [(0, 8), (5, 4), (31, 8), (0, 1)]:
        want_x, want_y = (t.tolist() for t in solution_window(data, start, block_size))
        case = f"start={start}, block_size={block_size}"
        got, problem = attempt(your_fn, data.clone(), start, block_size, where=f" for {case}", returns="x, y")
        if problem:
            return report(False, "", problem)
        pair = list(got) if isinstance(got, (tuple, list)) or (isinstance(got, torch.Tensor) and got.dim() == 2) else []
        if len(pair) != 2:
            return report(False, "", f"{case}: you returned {describe(got)}; return two things: `return x, y`.")
        x, y = (as_tensor(t) for t in pair)
        if x is None or y is None or x.dim() != 1 or y.dim() != 1:
            return report(
                False, "", f"{case}: x and y should each be a row of {block_size} token ids; you gave {describe(pair)}."
            )
        x, y = token_ids(x), token_ids(y)
        if x != want_x:
            return report(
                False, "", f"{case}: x should be {want_x}, you gave {x}. Hint: data[start : start + block_size]."
            )
        if y != want_y:
            same = " (that is x itself: each target is the character after its input)" if y == x else ""
            return report(False, "", f"{case}: y should be x shifted one to the left, {want_y}; you gave {y}{same}.")
    return report(True, "Right: y is x shifted by one, so every position has its next character as target.", "")
