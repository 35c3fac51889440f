"""Time every notebook in full mode and keep the instructor guide's timing table in step with the record.

    python tools/time_notebooks.py                      # run every notebook in full mode, record, render
    python tools/time_notebooks.py 00 05                # only these notebooks
    python tools/time_notebooks.py --render             # only re-render docs/instructor.md from the record
    python tools/time_notebooks.py --smoke 01 --record /tmp/t.json   # try the script in seconds

Each notebook runs top to bottom in a fresh Jupyter kernel (nbclient), with WORKSHOP_SMOKE=0 (what a
learner runs); its outputs are not written back (the .ipynb stays clean). The record,
docs/timings.json, keeps for each notebook and kind of machine (CPU, GPU) the latest run: its seconds,
its slowest cells (what to pre-run, what to warn the room about), the machine, the load average before
and after, the date, the command, and the machine's speed as `python -m helpers.doctor` probes it (the
doctor scales the recorded times by it to estimate them on an attendee's machine). The table between the <!-- timings:start/end --> markers of
docs/instructor.md is rendered from that record and the notebooks' titles: times are never typed.

What it does not know: whether a notebook teaches well (that is the guide's prose), or smoke mode's
times (CI's; the test suite runs the notebooks that way).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import nb as nbtool  # noqa: E402  (tools/nb.py: the notebooks' titles, and replacing between markers)

from helpers.device import pick_device  # noqa: E402
from helpers.preflight import speed_probe  # noqa: E402

RECORD = ROOT / "docs" / "timings.json"
GUIDE = ROOT / "docs" / "instructor.md"
MARKERS = ("<!-- timings:start -->", "<!-- timings:end -->")
SLOWEST_KEPT = 3


# ---- running ----------------------------------------------------------------------------------
def machine() -> tuple[str, str]:
    """(kind, description): kind is 'gpu' or 'cpu', the table's two columns."""
    import torch

    from helpers.device import pick_device, precision_for

    device = pick_device()
    if device == "cuda":
        what = f"{torch.cuda.get_device_name(0)}, {precision_for(device)}"
    else:
        what = f"{os.cpu_count()} CPU threads ({platform.machine()}), {device}, {precision_for(device)}"
    return ("gpu" if device in ("cuda", "mps") else "cpu"), f"{what}; torch {torch.__version__}"


def load_average() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except (AttributeError, OSError):
        return "unknown"


def cell_seconds(cell) -> float:
    """A cell's run time from the timestamps nbclient records in its metadata."""
    timing = cell.metadata.get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return 0.0
    parse = dt.datetime.fromisoformat
    return (parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))).total_seconds()


def first_line(source: str) -> str:
    lines = [line for line in source.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return (lines[0] if lines else source.splitlines()[0] if source else "")[:70]


def run_notebook(path: Path, smoke: bool, timeout: int) -> dict:
    """Run one notebook where it lives (its outputs are not saved); its time and slowest cells.

    Notebook 05 writes its run to runs/notebook, which 06 and 11 then load, as on the day.
    """
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    before = os.environ.get("WORKSHOP_SMOKE")
    os.environ["WORKSHOP_SMOKE"] = "1" if smoke else "0"  # the kernel inherits it
    try:
        began = time.perf_counter()
        nbclient.NotebookClient(
            nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
        ).execute()
        seconds = time.perf_counter() - began
    finally:
        if before is None:
            os.environ.pop("WORKSHOP_SMOKE")
        else:
            os.environ["WORKSHOP_SMOKE"] = before
    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    slowest = sorted(code, key=lambda ic: -cell_seconds(ic[1]))[:SLOWEST_KEPT]
    return {
        "seconds": round(seconds, 1),
        "slowest": [
            {"cell": i, "line": first_line(c.source), "seconds": round(cell_seconds(c), 1)} for i, c in slowest
        ],
    }


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


def timing_table(root: Path, record: dict) -> str:
    """One row per notebook: its time in full mode on a CPU and on a GPU, and its slowest cell."""
    runs = {(r["notebook"], r["kind"]): r for r in record["runs"] if r["mode"] == "full"}
    rows = [
        "| notebook | full mode, laptop CPU | full mode, GPU | slowest cell (CPU run) |",
        "|---|---|---|---|",
    ]
    for path, title in nbtool.titles(root):
        cells = []
        for kind in ("cpu", "gpu"):
            run = runs.get((path.stem, kind))
            cells.append(f"**{minutes(run['seconds'])}**" if run else "not measured yet")
        cpu = runs.get((path.stem, "cpu"))
        slow = cpu["slowest"][0] if cpu and cpu["slowest"] else None
        slow_text = f"cell {slow['cell']} `{slow['line']}`: {minutes(slow['seconds'])}" if slow else ""
        rows.append(f"| {path.name[:2]} · {title} | {cells[0]} | {cells[1]} | {slow_text} |")
    machines = sorted({(r["kind"], r["machine"], r["date"], r["load"]) for r in record["runs"] if r["mode"] == "full"})
    notes = [
        f"- {kind.upper()} runs: {what}, {date}, load average before/after {load}"
        for kind, what, date, load in machines
    ]
    command = "Measured with `python tools/time_notebooks.py` (each notebook in a fresh kernel, WORKSHOP_SMOKE=0)."
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
    parser.add_argument("--record", type=Path, default=RECORD, help="the record to update (default docs/timings.json)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds a cell may take")
    args = parser.parse_args(argv)
    record = read_record(args.record)
    if not args.render:
        kind, what = machine()
        # the machine's speed, as helpers.doctor probes it (it scales full-mode times by it; smoke runs: a quick probe)
        probe = speed_probe(
            pick_device(), seconds=1 if args.smoke else 10, preset_name="smoke" if args.smoke else "auto"
        )
        paths = [p for p in nbtool.notebook_paths(ROOT) if not args.numbers or p.name[:2] in args.numbers]
        for path in paths:
            load_before = load_average()
            result = run_notebook(path, args.smoke, args.timeout)
            entry = {
                "notebook": path.stem,
                "mode": "smoke" if args.smoke else "full",
                "kind": kind,
                "machine": what,
                "date": dt.date.today().isoformat(),
                "load": f"{load_before} / {load_average()}",
                "command": "python tools/time_notebooks.py" + (" --smoke" if args.smoke else ""),
                "probe_preset": probe.preset,
                "probe_tokens_per_s": round(probe.tokens_per_s),
                **result,
            }
            remember(record, entry)
            args.record.parent.mkdir(parents=True, exist_ok=True)
            args.record.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")  # after each notebook
            print(
                f"{path.name}: {minutes(result['seconds'])} ({entry['mode']}, {what}, load {entry['load']})", flush=True
            )
    if args.record == RECORD:
        GUIDE.write_text(render(ROOT, record), encoding="utf-8")
        print(f"{GUIDE.relative_to(ROOT)}: timing table in step with {RECORD.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
