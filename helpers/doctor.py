"""Check this machine before the workshop: `python -m helpers.doctor` (checks in helpers/preflight.py).

One line per check (✓ ok, ! warning, ✗ fails), each failure or warning with its fix; exit status 1
when the workshop cannot run here, else 0. A notebook's first cell can run it too: `doctor()`.
"""

from __future__ import annotations

import argparse
import sys

from .preflight import FAIL, OK, exit_status, run_checks

MARKS = {OK: "✓", "warn": "!", FAIL: "✗"}


def show(verdict) -> str:
    line = f"{MARKS[verdict.status]} {verdict.check:<8} {verdict.found}"
    return f"{line}\n  {'':<8} Fix: {verdict.fix}" if verdict.fix and verdict.status != OK else line


def doctor(download: bool = True, probe_seconds: float | None = 10.0, try_compile: bool = True) -> int:
    """Print every check as it is known, then the verdict; returns the exit status."""
    verdicts = []
    for verdict in run_checks(download=download, probe_seconds=probe_seconds, try_compile=try_compile):
        verdicts.append(verdict)
        print(show(verdict), flush=True)
    status = exit_status(verdicts)
    failed = [v.check for v in verdicts if v.status == FAIL]
    warned = [v.check for v in verdicts if v.status == "warn"]
    if failed:
        print(f"\n✗ The workshop cannot run here yet: fix {', '.join(failed)} (above), then run this again.")
    elif warned:
        print(f"\n✓ Ready, with {len(warned)} warning(s): {', '.join(warned)} (above).")
    else:
        print("\n✓ Ready for the workshop.")
    return status


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.doctor", description=__doc__.splitlines()[0])
    parser.add_argument("--no-download", action="store_true", help="do not download a missing corpus")
    parser.add_argument("--quick", action="store_true", help="skip the speed probe and the torch.compile trial")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the speed probe (default 10)")
    args = parser.parse_args(argv)
    return doctor(
        download=not args.no_download, probe_seconds=None if args.quick else args.seconds, try_compile=not args.quick
    )


if __name__ == "__main__":
    sys.exit(main())
