"""Exercise checkers: `check_...(your_fn)` functions that tell an attendee whether their answer is right.

Exercises for notebook NN live in `helpers/exercises/nbNN.py`. Each checker runs the attendee's
function on a few cases, prints ✅ or a hint naming the first case that failed, and returns a bool
(so a notebook can `assert check_x(solution)` in a tested cell).
"""

from __future__ import annotations


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
