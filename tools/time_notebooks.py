"""Time every notebook in full mode and keep the instructor guide's timing table in step with the record.

    python tools/time_notebooks.py                      # run every notebook in full mode, record, render
    python tools/time_notebooks.py 00 05                # only these notebooks
    python tools/time_notebooks.py --render             # only re-render docs/instructor.md from the record
    python tools/time_notebooks.py --smoke 01 --record /tmp/t.json   # try the script in seconds
    python tools/time_notebooks.py --alone 06 07 08     # each opened alone: a fresh copy, no runs/

Each notebook runs top to bottom in a fresh Jupyter kernel (nbclient), with WORKSHOP_SMOKE=0 (what a
learner runs), through tools/executor.py, the executor tools/edition.py uses too: the executed copy goes
to build/edition/notebooks/ (the reader's edition), never back into the clean .ipynb. `python tools/edition.py`
records the same way while it executes, so one full-mode run serves both. The record,
docs/timings.json, keeps for each notebook and kind of machine (CPU, GPU) the latest run: its seconds,
its slowest cells (what to pre-run, what to warn the room about), the machine, the load average before
and after, the date, the command, and the machine's speed as `python -m helpers.doctor` probes it (the
doctor scales the recorded times by it to estimate them on an attendee's machine). The table between the <!-- timings:start/end --> markers of
docs/instructor.md is rendered from that record and the notebooks' titles: times are never typed.

With --alone each notebook runs as someone who opens it on its own (a late arrival, a new runtime after a
disconnect): in a fresh copy of this checkout's tracked files, without runs/, so notebook 06 onwards find
no model of notebook 05's and `trained_model()` trains a quick one. Those runs are recorded apart (mode
"full-alone"; the doctor's estimates and the main table count "full" only) and get their own table.

What it does not know: whether a notebook teaches well (that is the guide's prose), or smoke mode's
times (CI's; the test suite runs the notebooks that way).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import executor  # noqa: E402  (tools/executor.py: the one executor, shared with tools/edition.py)
import nb as nbtool  # noqa: E402  (tools/nb.py: the notebooks' titles, and replacing between markers)
from executor import SLOWEST_KEPT, cell_seconds, first_line  # noqa: E402,F401  (part of this module's interface)

from helpers.device import pick_device  # noqa: E402
from helpers.preflight import speed_probe  # noqa: E402

RECORD = ROOT / "docs" / "timings.json"
GUIDE = ROOT / "docs" / "instructor.md"
MARKERS = ("<!-- timings:start -->", "<!-- timings:end -->")
EDITION = ROOT / "build" / "edition"  # where full-mode runs keep their executed copies (the reader's edition)
ALONE_COPIES = ROOT / "build" / "alone"  # executed copies of --alone runs, never the edition's (…/notebooks, …-smoke)
ALONE = "-alone"  # appended to the record's mode for a notebook opened alone ("full-alone")


# ---- running and recording ------------------------------------------------------------------------
def probe_machine(smoke: bool):
    """The machine's speed, as helpers.doctor probes it (it scales full-mode times by it); smoke: a quick probe."""
    return speed_probe(pick_device(), seconds=1 if smoke else 10, preset_name="smoke" if smoke else "auto")


def execute_and_record(
    paths: list[Path],
    out_dir: Path,
    smoke: bool,
    timeout: int,
    record_path: Path | None,
    command: str,
    force: bool = True,
    alone: bool = False,
) -> list[executor.Execution]:
    """Run each notebook that is not current (all with `force`) through the one executor, keeping its
    executed copy in `out_dir`; record each run's time in `record_path` (None: no record) as it ends.
    alone: each in a fresh copy of the checkout without runs/ (fresh_checkout), always executed."""
    todo = [p for p in paths if force or alone or not executor.is_current(p, out_dir, smoke)]
    if not todo:
        return []
    kind, what = executor.machine()
    probe = probe_machine(smoke) if record_path is not None else None
    record = read_record(record_path) if record_path is not None else None
    done = []
    for path in todo:
        load_before = executor.load_average()
        if alone:
            with tempfile.TemporaryDirectory(prefix="opened-alone-") as tmp:
                copy = fresh_checkout(Path(tmp) / ROOT.name)
                result = executor.execute(copy / "notebooks" / path.name, out_dir, smoke, timeout, root=copy)
        else:
            result = executor.execute(path, out_dir, smoke, timeout)
        done.append(result)
        load = f"{load_before} / {executor.load_average()}"
        outcome = f"FAILED: {result.error.splitlines()[-1]}" if result.error else "ok"
        print(
            f"{path.name}: {minutes(result.seconds)} ({'smoke' if smoke else 'full'}, {what}, load {load}) {outcome}",
            flush=True,
        )
        if record is None or result.error:  # a failed run's time says nothing about the notebook
            continue
        remember(
            record,
            {
                "notebook": path.stem,
                "mode": ("smoke" if smoke else "full") + (ALONE if alone else ""),
                "kind": kind,
                "machine": what,
                "date": dt.date.today().isoformat(),
                "load": load,
                "command": command,
                "probe_preset": probe.preset,
                "probe_tokens_per_s": round(probe.tokens_per_s),
                "seconds": result.seconds,
                "slowest": result.slowest,
            },
        )
        record_path.parent.mkdir(parents=True, exist_ok=True)
        record_path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")  # after each notebook
    return done


def fresh_checkout(dest: Path, root: Path = ROOT) -> Path:
    """A copy of the files git tracks in `root`, as they are now (uncommitted edits included): what a fresh
    runtime has after cloning. No runs/, build/ or corpus (notebooks find it through $WORKSHOP_CORPUS)."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, text=True, check=True).stdout
    for name in filter(None, listed.split("\0")):
        source = root / name
        if source.is_file():  # a tracked file deleted in the work tree is not part of it
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


# ---- the record and the table ------------------------------------------------------------------
def read_record(path: Path = RECORD) -> dict:
    if not path.is_file():
        return {"about": "Written by tools/time_notebooks.py; rendered into docs/instructor.md.", "runs": []}
    return json.loads(path.read_text(encoding="utf-8"))


def remember(record: dict, entry: dict) -> None:
    """Keep the latest run of each notebook on each kind of machine."""
    record["runs"] = [
        r
        for r in record["runs"]
        if (r["notebook"], r["kind"], r["mode"]) != (entry["notebook"], entry["kind"], entry["mode"])
    ]
    record["runs"].append(entry)
    record["runs"].sort(key=lambda r: (r["notebook"], r["kind"], r["mode"]))


def minutes(seconds: float) -> str:
    from helpers.live import format_duration

    return format_duration(seconds)


def uses_trained_model(path: Path) -> bool:
    """Whether a notebook loads notebook 05's model (helpers.notebook.trained_model): opened alone, it waits."""
    return "trained_model(" in path.read_text(encoding="utf-8")


MAIN_COLUMNS = (("full", "cpu", "full mode, laptop CPU"), ("full", "gpu", "full mode, GPU"))
ALONE_COLUMNS = (
    ("full" + ALONE, "cpu", "full mode, laptop CPU"),
    ("full" + ALONE, "gpu", "full mode, GPU"),
    ("smoke" + ALONE, "cpu", "smoke mode (as in CI), CPU"),
)


def timing_rows(root: Path, record: dict, columns=MAIN_COLUMNS, alone: bool = False) -> list[str]:
    """One row per notebook: its time in each (mode, kind) column, and its slowest cell in the first column's
    run. `alone`: only the notebooks that load notebook 05's model, and those with a run recorded alone."""
    runs = {(r["notebook"], r["mode"], r["kind"]): r for r in record["runs"]}
    first = columns[0]
    rows = [
        "| notebook"
        + (" (opened alone)" if alone else "")
        + " | "
        + " | ".join(header for _, _, header in columns)
        + f" | slowest cell ({first[2]}) |",
        "|---" * (len(columns) + 2) + "|",
    ]
    for path, title in nbtool.titles(root):
        recorded = any((path.stem, mode, kind) in runs for mode, kind, _ in columns)
        if alone and not (uses_trained_model(path) or recorded):
            continue
        cells = []
        for mode, kind, _ in columns:
            run = runs.get((path.stem, mode, kind))
            cells.append(f"**{minutes(run['seconds'])}**" if run else "not measured yet")
        main = runs.get((path.stem, first[0], first[1]))
        slow = main["slowest"][0] if main and main["slowest"] else None
        slow_text = f"cell {slow['cell']} `{slow['line']}`: {minutes(slow['seconds'])}" if slow else ""
        rows.append(f"| {path.name[:2]} · {title} | {' | '.join(cells)} | {slow_text} |")
    return rows


def timing_table(root: Path, record: dict) -> str:
    """The full-mode table (every notebook), then the table of the notebooks opened alone (--alone)."""
    shown = {mode for mode, _, _ in MAIN_COLUMNS + ALONE_COLUMNS}
    alone = [
        "",
        "Opened alone (a late arrival, a new runtime): each notebook in a fresh copy of the repository without "
        "`runs/` (`python tools/time_notebooks.py --alone`), so one that loads notebook 05's model trains a "
        "quick one first (`helpers.notebook.quick_model`):",
        "",
        *timing_rows(root, record, ALONE_COLUMNS, alone=True),
    ]
    rows = timing_rows(root, record) + alone
    machines: dict[tuple, list[float]] = {}  # (kind, machine, date): the 1-minute load averages before and after
    for r in record["runs"]:
        if r["mode"] in shown:
            loads = machines.setdefault((r["kind"], r["machine"], r["date"]), [])
            loads += [float(part.split()[0]) for part in r["load"].split("/") if part.strip()[:1].isdigit()]
    notes = [
        f"- {kind.upper()} runs: {what}, {date}, 1-minute load average "
        + (f"{min(loads):.1f}–{max(loads):.1f} before and after each notebook" if loads else "unknown")
        for (kind, what, date), loads in sorted(machines.items())
    ]
    commands = sorted({r["command"] for r in record["runs"] if r["mode"] in shown}) or [
        "python tools/time_notebooks.py"
    ]
    command = (
        f"Measured with {' and '.join(f'`{c}`' for c in commands)} (each notebook in a fresh kernel, "
        "WORKSHOP_SMOKE=0; 1 for the smoke column)."
    )
    return "\n".join(rows + ["", command, *notes])


def render(root: Path = ROOT, record: dict | None = None) -> str:
    """The guide with its timing table re-rendered from the record."""
    record = read_record(root / "docs" / "timings.json") if record is None else record
    text = (root / "docs" / "instructor.md").read_text(encoding="utf-8")
    updated = nbtool.replace_between(text, MARKERS, timing_table(root, record))
    if updated is None:
        raise SystemExit(f"error: docs/instructor.md lacks the markers {MARKERS[0]} and {MARKERS[1]}")
    return updated


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/time_notebooks.py", description=__doc__.splitlines()[0])
    parser.add_argument("numbers", nargs="*", help="notebook numbers (default: all)")
    parser.add_argument("--render", action="store_true", help="only re-render the guide's table")
    parser.add_argument("--smoke", action="store_true", help="run in smoke mode (to try the script)")
    parser.add_argument("--alone", action="store_true", help="each notebook opened alone: a fresh copy, no runs/")
    parser.add_argument("--record", type=Path, default=RECORD, help="the record to update (default docs/timings.json)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds a cell may take")
    parser.add_argument("--out", type=Path, help="where the executed copies go (default: the reader's edition's)")
    args = parser.parse_args(argv)
    record = read_record(args.record)
    if not args.render:
        paths = [p for p in nbtool.notebook_paths(ROOT) if not args.numbers or p.name[:2] in args.numbers]
        edition = (EDITION.with_name("edition-smoke") if args.smoke else EDITION) / "notebooks"
        alone = (ALONE_COPIES.with_name("alone-smoke") if args.smoke else ALONE_COPIES) / "notebooks"
        out_dir = args.out or (alone if args.alone else edition)
        command = (
            "python tools/time_notebooks.py" + (" --smoke" if args.smoke else "") + (" --alone" if args.alone else "")
        )
        execute_and_record(paths, out_dir, args.smoke, args.timeout, args.record, command, alone=args.alone)
        record = read_record(args.record)
    if args.record == RECORD:
        GUIDE.write_text(render(ROOT, record), encoding="utf-8")
        print(f"{GUIDE.relative_to(ROOT)}: timing table in step with {RECORD.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
