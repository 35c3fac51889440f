"""Loaded by every Python process whose PYTHONPATH starts here (tests/test_distributed.py puts it there):
records each file a process writes, renames, creates or deletes under $WATCH_WRITES_UNDER, one line per
event, into $WATCH_WRITES_LOG.<RANK>. Python's audit hooks see every open() and os call, whoever makes it
(our code, matplotlib, safetensors' Python side), so a rank that writes anything is caught."""

import os
import sys

_under = os.environ.get("WATCH_WRITES_UNDER")
_log = os.environ.get("WATCH_WRITES_LOG")
if _under and _log:
    _fd = os.open(f"{_log}.{os.environ.get('RANK', 'single')}", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    _writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

    def _inside(path) -> bool:
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        return isinstance(path, str) and os.path.abspath(path).startswith(_under)

    def _record(event, args):
        if event == "open":
            path, mode, flags = args
            writes = (mode is not None and any(c in str(mode) for c in "wax+")) or bool((flags or 0) & _writing)
            if writes and _inside(path):
                os.write(_fd, f"open {path}\n".encode())
        elif event in ("os.rename", "os.remove", "os.mkdir", "os.rmdir", "os.truncate"):
            paths = [a for a in args if isinstance(a, (str, bytes))]
            if any(_inside(p) for p in paths):
                os.write(_fd, f"{event} {paths}\n".encode())

    sys.addaudithook(_record)
