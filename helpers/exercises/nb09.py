"""Notebook 09 exercise: the longest context whose attention scores fit in a memory budget."""

from __future__ import annotations

import math

from . import report

CASES = [  # memory_bytes, batch_size, n_head, n_layer, bytes_per_number
    (16 * 2**30, 64, 6, 6, 4),
    (16 * 2**30, 64, 6, 6, 2),
    (8 * 2**30, 1, 12, 12, 4),
    (1000, 1, 1, 1, 4),
    (3, 1, 1, 1, 4),
]


def solution_max_block_size(memory_bytes, batch_size, n_head, n_layer, bytes_per_number=4) -> int:
    """Largest T with n_layer × batch × n_head × T² × bytes ≤ memory (the T² score tensors alone)."""
    return math.isqrt(memory_bytes // (n_layer * batch_size * n_head * bytes_per_number))


def check_max_block_size(your_fn) -> bool:
    for case in CASES:
        expected = solution_max_block_size(*case)
        try:
            answer = your_fn(*case)
        except Exception as err:
            return report(False, "", f"your function raised {type(err).__name__}: {err}")
        if answer != expected:
            return report(
                False,
                "",
                f"for memory={case[0]} bytes, batch={case[1]}, heads={case[2]}, layers={case[3]}, "
                f"{case[4]} bytes per number the answer is {expected}, yours is {answer!r}. Hint: solve "
                "layers × batch × heads × T² × bytes ≤ memory for T, and round down to a whole number.",
            )
    return report(True, "you can now tell how long a context fits before allocating anything.", "")
