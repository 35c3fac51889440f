"""Notebook 00 exercise: find the most common character of a text."""

from __future__ import annotations

from collections import Counter

from . import attempt, report

CASES = ["aab", "hello world", "To be, or not to be:\nthat is the question", "zzz yy x"]


def solution_most_common_char(text: str) -> str:
    counts = Counter(text)
    return counts.most_common(1)[0][0]


def check_most_common_char(your_fn) -> bool:
    """`your_fn(text)` must return the character that occurs most often in `text`."""
    for text in CASES:
        expected = solution_most_common_char(text)
        got, problem = attempt(your_fn, text, where=f" on {text!r}")
        if problem:
            return report(False, "", problem)
        if got != expected:
            return report(
                False,
                "",
                f"for {text!r} you returned {got!r}, but {expected!r} occurs most often. "
                "Hint: collections.Counter(text).most_common(1).",
            )
    return report(True, "Right: you found the most common character in every test text.", "")
