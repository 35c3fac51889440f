"""Find a given Python version on this machine: on PATH as python3.X, in pyenv, through uv, or through
Windows' `py` launcher. A pyenv shim on PATH can exist and still fail (its version not selected), so
every candidate is run and must say it is that version.

    python3 tools/find_python.py 3.13     # prints that interpreter's sys.executable, or exits 1 saying so

Used by .ci/run (the Colab kernel's venv is made with Colab's Python) and tests/test_python_versions.py.
What it does not do: install a Python.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path


def candidates(version: str) -> list[list[str]]:
    """Ways this machine may offer Python `version`, as command prefixes."""
    on_path = (shutil.which(f"python{version}", path=folder) for folder in os.environ.get("PATH", "").split(os.pathsep))
    found = [[exe] for exe in dict.fromkeys(on_path) if exe]  # every one on PATH: the first may be a broken shim
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    found += [[str(exe)] for exe in sorted(pyenv_root.glob(f"versions/{version}.*/bin/python"))]
    if shutil.which("uv"):
        uv = subprocess.run(["uv", "python", "find", version], capture_output=True, text=True)
        found += [[uv.stdout.strip()]] if uv.returncode == 0 and uv.stdout.strip() else []
    if shutil.which("py"):  # the Windows launcher
        found.append(["py", f"-{version}"])
    return found


def find_python(version: str) -> list[str] | None:
    """The first candidate that runs and reports Python `version`, as a command prefix; None if none does."""
    for command in candidates(version):
        try:
            probe = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0 and probe.stdout.startswith(f"Python {version}."):
            return command
    return None


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0].count(".") != 1:
        print("usage: python3 tools/find_python.py 3.13", file=sys.stderr)
        return 2
    version = argv[0]
    command = find_python(version)
    if command is None:
        print(
            f"No Python {version} on this machine (looked for python{version} on PATH, in pyenv's "
            f"$PYENV_ROOT/versions/{version}.*, through `uv python find` and the `py` launcher). "
            f"Fix: install it (`pyenv install {version}`, `uv python install {version}` or the system's package).",
            file=sys.stderr,
        )
        return 1
    executable = subprocess.run([*command, "-c", "import sys; print(sys.executable)"], capture_output=True, text=True)
    print(executable.stdout.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
