"""Notebook 11 exercise: who speaks most? Count the speeches of each character in a play's text."""

from __future__ import annotations

from . import report

SAMPLE = "ROMEO:\nHello.\n\nJULIET:\nHi.\nThere.\n\nROMEO:\nBye.\n\nFirst Citizen:\nNo.\n\nROMEO:\nYes.\n"


def solution_top_speakers(text: str, n: int) -> list[tuple[str, int]]:
    """The `n` characters with the most speeches, most first: [(name, count), ...]."""
    import re
    from collections import Counter

    names = re.findall(r"^([A-Z][A-Za-z ]*):$", text, flags=re.M)  # "NAME:" alone on a line
    return Counter(names).most_common(n)


def check_top_speakers(your_fn, corpus_text: str | None = None) -> bool:
    cases = [(SAMPLE, 2), (SAMPLE, 3)] + ([(corpus_text, 5)] if corpus_text else [])
    for text, n in cases:
        expected = solution_top_speakers(text, n)
        try:
            answer = [tuple(pair) for pair in your_fn(text, n)]
        except Exception as err:
            return report(False, "", f"your function raised {type(err).__name__}: {err}")
        if answer != expected:
            where = "the small sample play" if text is SAMPLE else "the corpus"
            return report(
                False,
                "",
                f"on {where} with n={n} the answer is {expected}, yours is {answer}. Hint: a speech starts "
                "with a line that is just the name and a colon; collections.Counter.most_common(n) sorts.",
            )
    return report(True, "you found who speaks most.", "")
