"""Colab runs Python 3.13 and laptops anything from 3.10: every module must at least compile there.

Torch is not installed for those interpreters on this machine, so this checks syntax only (the full
suite runs on the CI interpreter). Skipped for an interpreter that is not present.
"""

import glob
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
COMPILE_ALL = "import sys\nfor f in sys.argv[1:]:\n    compile(open(f, encoding='utf-8').read(), f, 'exec')"


def find_python(version: str) -> str | None:
    candidates = [shutil.which(f"python{version}"), *glob.glob(f"/root/.pyenv/versions/{version}.*/bin/python")]
    for exe in filter(None, candidates):
        probe = subprocess.run([exe, "--version"], capture_output=True, text=True)
        if probe.returncode == 0 and probe.stdout.startswith(f"Python {version}."):
            return exe
    return None


@pytest.mark.parametrize("version", ["3.10", "3.12", "3.13"])
def test_sources_compile_on(version):
    exe = find_python(version)
    if exe is None:
        pytest.skip(f"no Python {version} on this machine")
    files = sorted(str(p) for d in ("helpers", "tools", "tests", "benchmarks") for p in (REPO / d).rglob("*.py"))
    result = subprocess.run([exe, "-c", COMPILE_ALL, *files], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
