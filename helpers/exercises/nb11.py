"""Notebook 11 exercise: who speaks most? Count the speeches of each character in a play's text."""

from __future__ import annotations

from collections import Counter

from . import as_whole_number, attempt, checker, describe, report

# Juliet's speech holds a line that ends in a colon but is no name (a comma in it), and the second
# place is a tie between JULIET and First Citizen: either may come first, or be the one kept at n=2.
SAMPLE = (
    "ROMEO:\nHello.\n\nJULIET:\nO Romeo, Romeo:\nwherefore art thou?\n\nROMEO:\nBye.\n\n"
    "First Citizen:\nNo.\n\nROMEO:\nYes.\n"
)


def solution_top_speakers(text: str, n: int) -> list[tuple[str, int]]:
    """The `n` characters with the most speeches, most first: [(name, count), ...]."""
    import re
    from collections import Counter

    names = re.findall(r"^([A-Z][A-Za-z ]*):$", text, flags=re.M)  # "NAME:" alone on a line
    return Counter(names).most_common(n)


def speech_counts(text: str) -> Counter:
    """Speeches per speaker, by the solution's rule (other rules that read the wording right agree on the
    corpus's top speakers)."""
    return Counter(dict(solution_top_speakers(text, None)))


def problem_with(answer, counts: Counter, n: int) -> str | None:
    """What is wrong with `answer` as the n top speakers, or None when it is right.

    Any order among speakers with the same count is right, and so is any choice among those tied at
    the n-th place: the exercise does not say how to break ties.
    """
    if isinstance(answer, dict):
        return "return a list of (name, count) pairs, e.g. Counter(names).most_common(n), not a dict."
    if not isinstance(answer, (list, tuple)):
        return f"return a list of (name, count) pairs, not {describe(answer)}."
    pairs = []
    for item in answer:
        count = as_whole_number(item[1]) if isinstance(item, (list, tuple)) and len(item) == 2 else None
        if count is None or not isinstance(item[0], str):
            return f"each entry should be a (name, count) pair like ('ROMEO', 3), not {describe(item)}."
        pairs.append((item[0], count))
    names = [name for name, _ in pairs]
    want = min(n, len(counts))
    if len(pairs) != want:
        return f"you returned {len(pairs)} speakers; there should be {want}."
    for name, count in pairs:
        if name not in counts:
            colon = " (write the name without its colon)" if name.rstrip().endswith(":") else ""
            return (
                f"{name!r} never starts a speech{colon}: a speech starts with a line that is only a name and a colon."
            )
        if count != counts[name]:
            return (
                f"{name} starts {counts[name]} speech(es), you counted {count}: count the lines holding only "
                "the name and a colon."
            )
    if len(set(names)) != len(names):
        return "a name appears twice in your list."
    got_counts = [count for _, count in pairs]
    if got_counts != sorted(got_counts, reverse=True):
        return "sort the speakers by their count, most first."
    if got_counts != sorted(counts.values(), reverse=True)[:want]:
        left_out = max((c for name, c in counts.items() if name not in names), default=0)
        return f"someone with {left_out} speech(es) is left out while you kept one with {got_counts[-1]}."
    return None


@checker
def check_top_speakers(your_fn, corpus_text: str | None = None) -> bool:
    cases = [(SAMPLE, 2), (SAMPLE, 3)] + ([(corpus_text, 5)] if corpus_text else [])
    for text, n in cases:
        where = "the small sample play" if text is SAMPLE else "the corpus"
        got, problem = attempt(your_fn, text, n, where=f" on {where} with n={n}", returns="[(name, count), ...]")
        if problem:
            return report(False, "", problem)
        counts = speech_counts(text)
        wrong = problem_with(got, counts, n)
        if wrong:
            expected = solution_top_speakers(text, n)
            return report(
                False,
                "",
                f"on {where} with n={n} the answer is {expected} (ties in any order), yours is "
                f"{describe(got)}: {wrong} Hint: collections.Counter.most_common(n) sorts.",
            )
    return report(True, "you found who speaks most.", "")
