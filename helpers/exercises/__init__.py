"""Exercise checkers: `check_...(your_fn)` functions that tell an attendee whether their answer is right.

Exercises for notebook NN live in `helpers/exercises/nbNN.py`. Each checker runs the attendee's
function on a few cases, prints ✅ or a hint naming the first case that failed, and returns a bool.

Every checker is total: it calls the attendee's function only through `attempt()` (a crash or a
missing `return` becomes a hint), reads the answer with the `as_...` readers below (an answer in
another dtype, a NumPy array or a list is read like a tensor; an unreadable one is named in the hint),
and is wrapped in `@checker`, so that no answer ends in a traceback. It accepts every answer the
exercise's wording allows (ties in any order where the wording does not fix one) and names the
plausible wrong rules in its hints. tests/test_exercises.py proves all of that for each checker.
"""

from __future__ import annotations

import functools
import math
import numbers
from fractions import Fraction

import torch


def report(ok: bool, success: str, hint: str) -> bool:
    print(f"✅ {success}" if ok else f"❌ Not yet: {hint}")
    return ok


def attempt(your_fn, *args, where: str = "", returns: str = "the answer"):
    """Call the attendee's function. Returns `(answer, None)`, or `(None, hint)` when it raised or returned None.

    An attendee's bug becomes a hint, never a traceback.
    """
    try:
        answer = your_fn(*args)
    except Exception as err:
        return None, f"your function raised {type(err).__name__}: {err}{where}."
    if answer is None:
        return None, f"your function returned None: write the body and `return {returns}`."
    return answer, None


def checker(check):
    """Make a checker total: whatever the answer does to the checking code, the attendee gets a hint."""

    @functools.wraps(check)
    def total(your_fn, *args, **kwargs) -> bool:
        if not callable(your_fn):
            return report(False, "", f"pass your function itself (its name, no parentheses), not {describe(your_fn)}.")
        try:
            return check(your_fn, *args, **kwargs)
        except Exception as err:  # an answer of a kind no case foresaw: still a hint
            return report(False, "", f"your answer could not be checked ({type(err).__name__}: {err}).")

    return total


# ---- reading answers -----------------------------------------------------------------------------


def describe(answer) -> str:
    """A short description of an answer for a hint: its kind, and its shape or its value."""
    if isinstance(answer, torch.Tensor) or type(answer).__name__ == "ndarray":
        return f"a {type(answer).__name__} of shape {tuple(answer.shape)}"
    text = " ".join(repr(answer).split())  # one line, however the value prints
    return f"{type(answer).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def as_tensor(answer) -> torch.Tensor | None:
    """The answer as a float64 tensor (from a tensor of any dtype, a NumPy array, a list or a number);
    None when it is not numbers."""
    try:
        if isinstance(answer, torch.Tensor):
            return answer.detach().to("cpu", torch.float64)
        if isinstance(answer, (str, bytes, dict)) or answer is None:
            return None
        return torch.as_tensor(answer, dtype=torch.float64)  # a NumPy array, a list of numbers, a number
    except (TypeError, ValueError, RuntimeError):
        return None


def as_number(answer) -> float | None:
    """One number (a Python or NumPy number, or any one-element tensor or array) as a float; else None."""
    if isinstance(answer, bool):
        return None
    if isinstance(answer, numbers.Real):
        return float(answer)
    values = as_tensor(answer)
    return values.item() if values is not None and values.numel() == 1 else None


def as_whole_number(answer) -> int | None:
    """A whole number however it is written (7, np.int64(7), 7.0, tensor(7)); None for anything else."""
    if isinstance(answer, numbers.Integral) and not isinstance(answer, bool):
        return int(answer)
    value = as_number(answer)
    return int(value) if value is not None and math.isfinite(value) and value == int(value) else None


def as_bool(answer) -> bool | None:
    """True or False however it is written (np.bool_, a one-element tensor, 0 or 1); None for anything else."""
    if isinstance(answer, bool) or type(answer).__name__ == "bool_":
        return bool(answer)
    value = as_number(answer)
    return bool(value) if value in (0, 1) else None


def first_wrong_count(
    your_fn, cases, solution, case_text, wrong_text, what_is_off, call=attempt, returns="the number of bytes"
):
    """The hint for the first case where `your_fn` does not return `solution`'s whole number, or None if none.

    `case_text(case)` says the case in words, `wrong_text(expected, answer)` how far off the answer is,
    `what_is_off(case, answer)` which slip it looks like (the KV-cache size checkers of notebooks 07 and 10);
    `call`: the checker module's `attempt` (tests watch that every call goes through it).
    """
    for case in cases:
        expected = solution(*case)
        got, problem = call(your_fn, *case, where=f" for {case}", returns=returns)
        if problem:
            return problem
        answer = as_whole_number(got)
        if answer is None:
            return f"for {case_text(case)} you returned {describe(got)}: return {returns}, one whole number."
        if answer != expected:
            return f"for {case_text(case)} {wrong_text(expected, answer)} Hint: {what_is_off(case, answer)}"
    return None


def slip_by_ratio(expected: int, answer: int, slips: list[tuple[Fraction | int, str]], otherwise: str) -> str:
    """The hint of the first slip whose ratio turns `answer` into `expected` exactly (ratios as whole numbers or
    Fractions, so 1/6 is exact), else `otherwise`: a size off by a factor names the factor it missed."""
    for ratio, hint in slips:
        if ratio != 1 and answer * Fraction(ratio) == expected:
            return hint
    return otherwise
