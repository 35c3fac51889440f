"""Recorded measurements of the presets: the runs behind every loss and time the project quotes.

They live in `benchmarks/measured.json`, one entry per run that a person (or a benchmark) made:

    {"preset": "laptop",                       # a name in PRESETS: the model and settings that ran
     "label": "`laptop`",                      # optional: the table's first column (default: the preset)
     "steps": 700,                             # optional: steps trained, when not the preset's max_iters
     "best_val_loss": 1.8034,                  # at least one of best_val_loss and wall_time_s
     "wall_time_s": 26.5,                      # the whole command, start-up included
     "command": "python -m helpers.train --preset laptop --out runs/laptop",
     "machine": "2 vCPUs (AMD EPYC), no GPU, quiet",
     "date": "2026-11-24",                     # YYYY-MM-DD
     "note": "bf16 autocast"}                  # optional

Re-measure with the entry's command and edit the figures, machine and date; then `python tools/nb.py`
re-renders the README's preset table. What this module knows: reading and checking that file. What it
does not: running anything (benchmarks/ does), or how the table looks (tools/nb.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import WorkshopError, require
from .presets import PRESETS

MEASURED_FILE = Path(__file__).resolve().parents[1] / "benchmarks" / "measured.json"
REQUIRED = ("preset", "command", "machine", "date")
OPTIONAL = ("label", "steps", "best_val_loss", "wall_time_s", "note")


@dataclass(frozen=True)
class Run:
    preset: str
    command: str
    machine: str
    date: str
    label: str = ""
    steps: int | None = None
    best_val_loss: float | None = None
    wall_time_s: float | None = None
    note: str = ""

    def summary(self) -> str:
        """What was measured, where, when and with which command, in one line (what notebook 05 prints)."""
        figures = [f"best val loss {self.best_val_loss:.3f}"] if self.best_val_loss is not None else []
        figures += [f"{self.wall_time_s:g} s for the whole command"] if self.wall_time_s is not None else []
        return f"{', '.join(figures)} ({self.machine}, {self.date}: {self.command})"


def recorded_runs(path: str | Path = MEASURED_FILE, preset: str | None = None) -> list[Run]:
    """The recorded runs (of one preset, if given), in the file's order; [] when there is no file
    (helpers used without this checkout's benchmarks/ folder)."""
    path = Path(path)
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise WorkshopError(
            f"{path} is not valid JSON ({err}). Fix: repair the file (see helpers/measured.py)."
        ) from None
    require(
        isinstance(data, dict) and isinstance(data.get("runs"), list),
        f'{path} must hold {{"runs": [...]}}. Fix: see the format in helpers/measured.py.',
    )
    runs = [_run(entry, f"{path}, run {i + 1}") for i, entry in enumerate(data["runs"])]
    return [run for run in runs if preset is None or run.preset == preset]


def _run(entry, where: str) -> Run:
    require(isinstance(entry, dict), f"{where} is not an object. Fix: one {{...}} per run.")
    missing = [key for key in REQUIRED if not (isinstance(entry.get(key), str) and entry[key].strip())]
    require(not missing, f"{where} lacks {', '.join(missing)}. Fix: every run says what ran where and when.")
    unknown = sorted(set(entry) - set(REQUIRED) - set(OPTIONAL))
    require(not unknown, f"{where} has unknown fields {unknown}. Fix: use only {', '.join(REQUIRED + OPTIONAL)}.")
    require(
        entry["preset"] in PRESETS,
        f"{where}: preset {entry['preset']!r} is not in PRESETS. Fix: use one of {', '.join(PRESETS)}.",
    )
    require(
        re.fullmatch(r"\d{4}-\d{2}-\d{2}", entry["date"]) is not None,
        f"{where}: date {entry['date']!r} is not YYYY-MM-DD. Fix: e.g. 2026-11-24.",
    )
    for key in ("best_val_loss", "wall_time_s"):
        value = entry.get(key)
        require(
            value is None or (isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0),
            f"{where}: {key} must be a positive number, not {value!r}. Fix: write the figure the run printed.",
        )
    require(
        entry.get("best_val_loss") is not None or entry.get("wall_time_s") is not None,
        f"{where} records no figure. Fix: add best_val_loss and/or wall_time_s.",
    )
    steps = entry.get("steps")
    require(
        steps is None or (isinstance(steps, int) and not isinstance(steps, bool) and steps > 0),
        f"{where}: steps must be a positive whole number, not {steps!r}.",
    )
    return Run(**{key: entry[key] for key in REQUIRED + OPTIONAL if key in entry})
