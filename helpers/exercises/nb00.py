"""Notebook 00 exercise: find the most common character of a text."""

from __future__ import annotations

from collections import Counter

from . import report

CASES = ["aab", "hello world", "To be, or not to be:\nthat is the question", "zzz yy x"]


def solution_most_common_char(text: str) -> str:
    counts = Counter(text)
    return counts.most_common(1)[0][0]


def check_most_common_char(your_fn) -> bool:
    """`your_fn(text)` must return the character that occurs most often in `text`."""
    for text in CASES:
        expected = solution_most_common_char(text)
        try:
            got = your_fn(text)
        except Exception as err:  # an attendee's bug: report it as a hint, not a traceback
            return report(False, "", f"your function raised {type(err).__name__}: {err} on {text!r}.")
        if got is None:
            return report(False, "", "your function returned None: write the body and `return` the answer.")
        if got != expected:
            return report(False, "", f"for {text!r} you returned {got!r}, but {expected!r} occurs most often. "
                                     "Hint: collections.Counter(text).most_common(1).")
    return report(True, "Right: you found the most common character in every test text.", "")
