"""Execute a notebook top to bottom in a fresh kernel and keep the executed copy: the one executor of
tools/edition.py (the reader's edition) and tools/time_notebooks.py (the instructor guide's timings),
so that one full-mode run serves both.

What it knows: how to run a notebook with nbclient (WORKSHOP_SMOKE set for the kernel, the kernel's
folder notebooks/, as on the day: notebook 05 writes runs/notebook, which 06+ load), how long each
cell took, and whether an executed copy is still current. The copy's metadata["edition"] stamps the
facts the reader's edition prints on each page: mode, machine, date and time, commit, seconds, and the
fingerprints that make execution incremental: the notebook's own bytes and the helpers modules it
imports (followed through their imports, read with ast; nothing is run to find them).

What it does not know: the data a notebook reads from another's run (notebook 05's model, read by 06+)
is not fingerprinted; after changing 05, redo the rest with --force. It does not build the site
(tools/edition.py) nor keep the timing record (tools/time_notebooks.py).
"""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
import os
import platform
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
STAMP = "edition"  # the executed copy's metadata key
SLOWEST_KEPT = 3


# ---- facts about the machine and the checkout ---------------------------------------------------
def machine() -> tuple[str, str]:
    """(kind, description): kind is 'gpu' or 'cpu'. A CPU is described by the threads PyTorch uses here
    (OMP_NUM_THREADS, which a notebook kernel inherits), out of the machine's."""
    import torch

    from helpers.device import pick_device, precision_for

    device = pick_device()
    if device == "cuda":
        what = f"{torch.cuda.get_device_name(0)}, {precision_for(device)}"
    else:
        what = (
            f"{torch.get_num_threads()} of {os.cpu_count()} CPU threads ({platform.machine()}), {device}, "
            f"{precision_for(device)}"
        )
    return ("gpu" if device in ("cuda", "mps") else "cpu"), f"{what}; torch {torch.__version__}"


def load_average() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except (AttributeError, OSError):
        return "unknown"


def commit(root: Path = ROOT, paths: tuple[str, ...] = ("notebooks", "helpers")) -> str:
    """The checkout's commit, '+ changes' when `paths` differ from it; 'unknown' outside git."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", *paths], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{sha} + uncommitted changes" if dirty else sha


# ---- what a notebook depends on -------------------------------------------------------------------
def imported_helpers(source: str, package: str = "helpers") -> set[str]:
    """Dotted names of the helpers modules a piece of code imports ('helpers', 'helpers.live', ...)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # a cell with IPython magics: fall back to its import lines
        lines = [line for line in source.splitlines() if line.lstrip().startswith(("import ", "from "))]
        tree = ast.parse("\n".join(line.strip() for line in lines) or "pass")
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == package}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] == package:
                found.add(node.module)
                found |= {f"{node.module}.{a.name}" for a in node.names}  # `from helpers import live` too
    return found


def module_file(name: str, root: Path) -> Path | None:
    base = root / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def helper_closure(source: str, root: Path = ROOT) -> list[Path]:
    """The helpers files `source` runs: its imports, their parents' __init__, and their imports, in turn."""
    seen: dict[str, Path] = {}
    todo = sorted(imported_helpers(source))
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # importing helpers.exercises.nb05 runs helpers/__init__.py too
            prefix = ".".join(parts[:i])
            path = module_file(prefix, root)
            if path is None or prefix in seen:
                continue
            seen[prefix] = path
            text = path.read_text(encoding="utf-8")
            package = prefix if path.name == "__init__.py" else ".".join(prefix.split(".")[:-1])
            todo += sorted(relative_imports(text, package) | imported_helpers(text))
    return sorted(set(seen.values()))


def relative_imports(source: str, package: str) -> set[str]:
    """`from .x import y` inside `package`, as absolute names (both 'package.x' and 'package.x.y')."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
            module = ".".join(base + ([node.module] if node.module else []))
            found.add(module)
            found |= {f"{module}.{a.name}" for a in node.names}
    return found


def fingerprint(path: Path, root: Path = ROOT) -> dict:
    """What an executed copy is current with: the notebook's bytes and the helpers files it runs."""
    nb = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    digest = hashlib.sha256()
    for helper in helper_closure(code, root):
        digest.update(helper.relative_to(root).as_posix().encode() + b"\0" + helper.read_bytes())
    return {"notebook": hashlib.sha256(path.read_bytes()).hexdigest(), "helpers": digest.hexdigest()}


def executed_copy(out_dir: Path, path: Path) -> Path:
    return out_dir / path.name


def stamp_of(copy: Path) -> dict | None:
    if not copy.is_file():
        return None
    try:
        return nbformat.read(copy, as_version=4).metadata.get(STAMP)
    except Exception:  # an unreadable copy is simply not current
        return None


def is_current(path: Path, out_dir: Path, smoke: bool, root: Path = ROOT) -> bool:
    """True when the executed copy ran this notebook, in this mode, with these helpers, without error."""
    stamp = stamp_of(executed_copy(out_dir, path))
    return bool(
        stamp
        and not stamp.get("error")
        and stamp.get("mode") == ("smoke" if smoke else "full")
        and stamp.get("fingerprint") == fingerprint(path, root)
    )


# ---- running --------------------------------------------------------------------------------------
# The run folder a notebook resumes when it exists (helpers.runs.resume_or_start): notebook 05's main run,
# runs/notebook (helpers.notebook.notebook_run_dir). Executed in full mode, the notebook starts it fresh,
# as on an attendee's first day, so that its page and its time are a whole run's, not a resumed one's;
# the old folder is kept beside it as runs/notebook.previous (replacing the one before).
RESUMED_RUNS = {"05": "notebook"}


def set_aside_run(path: Path, root: Path = ROOT) -> Path | None:
    """Move the run `path` would resume to <name>.previous; the folder it now holds, if any."""
    name = RESUMED_RUNS.get(path.name[:2])
    folder = root / "runs" / name if name else None
    if folder is None or not folder.exists():
        return None
    previous = folder.with_name(folder.name + ".previous")
    if previous.exists():
        shutil.rmtree(previous)
    folder.rename(previous)
    return previous


@dataclass
class Execution:
    """One notebook's run: its time, slowest cells, and the first error (None when every cell ran)."""

    notebook: str
    seconds: float
    slowest: list[dict] = field(default_factory=list)
    error: str | None = None


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


def execute(path: Path, out_dir: Path, smoke: bool, timeout: int, root: Path = ROOT) -> Execution:
    """Run `path` in a fresh kernel (in its own folder) and write the executed copy into `out_dir`.

    A failing cell stops the run, as in Jupyter's Run All; the copy keeps the outputs so far, the error
    among them, and its stamp says so (so it is never current).
    """
    import nbclient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbformat.read(path, as_version=4)
    if not smoke and (previous := set_aside_run(path, root)) is not None:
        print(
            f"{path.name}: its previous run is kept in {previous.relative_to(root)}; this one starts fresh", flush=True
        )
    fingerprints = fingerprint(path, root)
    kind, what = machine()
    at_commit = commit(root)  # before the run: a commit made while it runs is not the one it ran
    started = dt.datetime.now(dt.timezone.utc)
    before = os.environ.get("WORKSHOP_SMOKE")
    os.environ["WORKSHOP_SMOKE"] = "1" if smoke else "0"  # the kernel inherits it
    error = None
    began = time.perf_counter()
    try:
        nbclient.NotebookClient(
            nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
        ).execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as failure:
        error = str(failure).strip()
    finally:
        seconds = time.perf_counter() - began
        if before is None:
            os.environ.pop("WORKSHOP_SMOKE")
        else:
            os.environ["WORKSHOP_SMOKE"] = before
    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    slowest = sorted(code, key=lambda ic: -cell_seconds(ic[1]))[:SLOWEST_KEPT]
    result = Execution(
        notebook=path.stem,
        seconds=round(seconds, 1),
        slowest=[{"cell": i, "line": first_line(c.source), "seconds": round(cell_seconds(c), 1)} for i, c in slowest],
        error=error,
    )
    nb.metadata[STAMP] = {
        "mode": "smoke" if smoke else "full",
        "kind": kind,
        "machine": what,
        "started_utc": started.strftime("%Y-%m-%d %H:%M UTC"),
        "commit": at_commit,
        "seconds": result.seconds,
        "error": error,
        "fingerprint": fingerprints,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    copy = executed_copy(out_dir, path)
    partial = copy.with_suffix(".ipynb.partial")
    nbformat.write(nb, partial)
    partial.replace(copy)  # never a half-written copy
    return result
