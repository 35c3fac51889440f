"""Exercise checkers: `check_...(your_fn)` functions that tell an attendee whether their answer is right.

Exercises for notebook NN live in `helpers/exercises/nbNN.py`. Each checker runs the attendee's
function on a few cases, prints ✅ or a hint naming the first case that failed, and returns a bool
(so a notebook can `assert check_x(solution)` in a tested cell).
"""

from __future__ import annotations


def report(ok: bool, success: str, hint: str) -> bool:
    print(f"✅ {success}" if ok else f"❌ Not yet: {hint}")
    return ok
