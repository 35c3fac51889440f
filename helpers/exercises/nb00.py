"""Notebook 00 exercise: find the most common character of a text."""

from __future__ import annotations

from collections import Counter

from . import attempt, checker, describe, report

# The last two: a newline wins (a rule that skips whitespace fails), and a tie ('a' and 'b' both right).
CASES = ["aab", "hello world", "To be, or not to be:\nthat is the question", "zzz yy x", "a\nb\nc\n\n", "abba"]


def solution_most_common_char(text: str) -> str:
    counts = Counter(text)
    return counts.most_common(1)[0][0]


@checker
def check_most_common_char(your_fn) -> bool:
    """`your_fn(text)` must return a character that occurs most often in `text` (any one of them on a tie)."""
    for text in CASES:
        counts = Counter(text)
        top = max(counts.values())
        got, problem = attempt(your_fn, text, where=f" on {text!r}", returns="the character")
        if problem:
            return report(False, "", problem)
        if not isinstance(got, str) or len(got) != 1:
            pair = " (most_common(1) gives a list of (character, count) pairs: take [0][0])"
            return report(
                False,
                "",
                f"for {text!r} you returned {describe(got)}: return the character itself, one str of length 1"
                + (pair if isinstance(got, (list, tuple)) else "")
                + ".",
            )
        if counts[got] != top:
            best = [ch for ch, n in counts.items() if n == top]
            blank = " (spaces and newlines are characters too)" if any(ch.isspace() for ch in best) else ""
            return report(
                False,
                "",
                f"for {text!r} you returned {got!r}, which occurs {counts[got]} time(s), but "
                f"{' or '.join(map(repr, best))} occurs {top} times{blank}. Hint: collections.Counter(text).most_common(1).",
            )
    return report(True, "Right: you found the most common character in every test text.", "")
