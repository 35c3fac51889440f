"""Notebook 13 exercise: a scratchpad for another operation, multiplying a number by one digit."""

from __future__ import annotations

import random

from . import attempt, report

CASES = [(367, 4), (0, 0), (999, 9), (100, 7), (5, 1), (250, 4)] + [
    (random.Random(i).randrange(1000), random.Random(-i).randrange(10)) for i in range(20)
]


def solution_times_digit_scratchpad(a: int, d: int) -> str:
    """What a model would write after `367*4=`: one step per column of `a`, least significant first
    (`digit*d+carry=two-digit result`), then `|`, the 4-digit product and the end marker."""
    steps, carry = [], 0
    for column in range(3):
        digit = a // 10**column % 10
        total = digit * d + carry
        steps.append(f"{digit}*{d}+{carry}={total:02d}")
        carry = total // 10
    return ",".join(steps) + f"|{a * d:04d}."


def check_times_digit_scratchpad(your_fn) -> bool:
    """Runs `your_fn(a, d)` for 3-digit `a` and one digit `d`, and compares with the right scratchpad."""
    for a, d in CASES:
        expected = solution_times_digit_scratchpad(a, d)
        answer, hint = attempt(your_fn, a, d, where=f" for a={a}, d={d}", returns="the scratchpad text")
        if hint:
            return report(False, "", hint)
        if not isinstance(answer, str):
            return report(False, "", f"for a={a}, d={d} you returned a {type(answer).__name__}: return the text.")
        if answer != expected:
            return report(
                False,
                "",
                f"for {a:03d}*{d}= the scratchpad is {expected!r}, yours is {answer!r}. Hint: go through the "
                "three digits of a from the right; each step multiplies one digit by d and adds the carry; "
                "the carry for the next step is the result // 10; the result is written with two digits.",
            )
    return report(True, "your scratchpad multiplies: every step is one digit times d plus a carry.", "")
