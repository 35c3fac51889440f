"""Notebook 09 exercise: the longest context whose attention scores fit in a memory budget."""

from __future__ import annotations

import math

from . import as_whole_number, attempt, checker, describe, report

CASES = [  # memory_bytes, batch_size, n_head, n_layer, bytes_per_number
    (16 * 2**30, 64, 6, 6, 4),
    (16 * 2**30, 64, 6, 6, 2),
    (8 * 2**30, 1, 12, 12, 4),
    (1000, 1, 1, 1, 4),  # 250 numbers: 15 × 15 fit, 16 × 16 do not
    (4096, 1, 1, 1, 4),  # exactly 32 × 32
    (3, 1, 1, 1, 4),  # not even one number
]


def solution_max_block_size(memory_bytes, batch_size, n_head, n_layer, bytes_per_number=4) -> int:
    """Largest T with n_layer × batch × n_head × T² × bytes ≤ memory (the T² score tensors alone)."""
    return math.isqrt(memory_bytes // (n_layer * batch_size * n_head * bytes_per_number))


@checker
def check_max_block_size(your_fn) -> bool:
    """`your_fn(memory_bytes, batch_size, n_head, n_layer, bytes_per_number)`: a whole number, however written."""
    for case in CASES:
        expected = solution_max_block_size(*case)
        where = f"for memory={case[0]} bytes, batch={case[1]}, heads={case[2]}, layers={case[3]}, {case[4]} bytes per number"
        got, problem = attempt(your_fn, *case, where=" " + where, returns="T")
        if problem:
            return report(False, "", problem)
        answer = as_whole_number(got)
        if answer is None:
            return report(
                False,
                "",
                f"{where} you returned {describe(got)}: return a whole number (round down: math.isqrt or int()).",
            )
        if answer != expected:
            hint = (
                "round down, not to the nearest: T + 1 would not fit."
                if answer == expected + 1
                else "solve layers × batch × heads × T² × bytes ≤ memory for T, and round down to a whole number."
            )
            return report(False, "", f"{where} the answer is {expected}, yours is {answer}. Hint: {hint}")
    return report(True, "you can now tell how long a context fits before allocating anything.", "")
