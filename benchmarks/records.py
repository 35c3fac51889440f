"""A benchmark's results kept in a JSON file beside it, one entry per key: what tests and notebooks read back.

What it knows: reading, updating and writing such a file under a lock (two benchmark runs side by side, one per
CPU slot, may finish together). What it does not: what an entry holds (each benchmark decides).
"""

from __future__ import annotations

import json
from pathlib import Path


def record(path: Path, key: str, payload: dict, about: str) -> None:
    """Set `key` to `payload` in the JSON file at `path` (created if missing), with its `about` line."""
    import fcntl  # Unix only, like the CPU-slot wrapper the benchmarks are run through

    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = json.loads(path.read_text()) if path.is_file() else {}
        data["about"] = about
        data[key] = payload
        path.write_text(json.dumps(data, indent=1) + "\n")
