"""Notebook 01 exercise: cut one (context, target) pair out of the data by hand."""

from __future__ import annotations

import torch

from . import attempt, report


def solution_window(data: torch.Tensor, start: int, block_size: int):
    x = data[start : start + block_size]
    y = data[start + 1 : start + block_size + 1]  # the same window, one character later
    return x, y


def check_window(your_fn) -> bool:
    """`your_fn(data, start, block_size)` must return (x, y): block_size tokens from `start`, and y one later."""
    data = torch.arange(100, 140)
    for start, block_size in [(0, 8), (5, 4), (31, 8), (0, 1)]:
        want_x, want_y = solution_window(data, start, block_size)
        got, problem = attempt(
            your_fn, data, start, block_size, where=f" for start={start}, block_size={block_size}", returns="x, y"
        )
        if problem:
            return report(False, "", problem)
        x, y = (torch.as_tensor(t) for t in got)
        if not torch.equal(x, want_x):
            return report(
                False,
                "",
                f"start={start}, block_size={block_size}: x should be {want_x.tolist()}, you gave {x.tolist()}.",
            )
        if not torch.equal(y, want_y):
            return report(
                False,
                "",
                f"start={start}, block_size={block_size}: y should be x shifted one to the "
                f"left, {want_y.tolist()}; you gave {y.tolist()}.",
            )
    return report(True, "Right: y is x shifted by one, so every position has its next character as target.", "")
