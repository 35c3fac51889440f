"""The declared minimum torch is one that has run: CI runs the unit tests on it (.ci/venv_torch_floor.sh).

These tests keep the declaration and the CI step in step; the run itself is CI's (a second venv, minutes).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
FLOOR_SCRIPT = ROOT / ".ci" / "venv_torch_floor.sh"


def declared_floor(requirement: str) -> tuple[int, ...]:
    found = re.fullmatch(r"torch>=(\d+(?:\.\d+)*)", requirement.split("#")[0].strip())
    assert found, f"torch must be declared as torch>=X.Y, not {requirement!r}"
    return tuple(int(part) for part in found[1].split("."))


def requirements_floor() -> tuple[int, ...]:
    (line,) = [line for line in (ROOT / "requirements.txt").read_text().splitlines() if line.startswith("torch")]
    return declared_floor(line)


def test_requirements_and_pyproject_declare_the_same_floor():
    pyproject = (ROOT / "pyproject.toml").read_text()  # a regex, not tomllib: Python 3.10 has none
    (torch_dependency,) = re.findall(r'^\s*"(torch[^"]*)",?$', pyproject, flags=re.M)
    assert declared_floor(torch_dependency) == requirements_floor()


def test_the_floor_is_what_colab_runs_or_newer():
    assert requirements_floor() >= (2, 11)  # torch.amp.GradScaler("cuda"), torch.compile as the trainer uses them


def test_the_floor_script_installs_the_declared_floor():
    """The script's pin comes from requirements.txt (its PINS line, run by bash as the script runs it)."""
    (pins_line,) = [line for line in FLOOR_SCRIPT.read_text().splitlines() if line.startswith("PINS=")]
    pins = subprocess.run(
        ["bash", "-c", f"{pins_line}\necho $PINS"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert pins == ["torch==" + ".".join(map(str, requirements_floor()))]


def test_ci_runs_the_unit_tests_on_the_floor():
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert ".ci/venv_torch_floor.sh" in ci  # a command of its own, not a comment
    script = FLOOR_SCRIPT.read_text()
    assert re.search(r'-m pytest .*-m "not browser" \$TESTS', script) and 'TESTS="${TESTS:-tests}"' in script


def test_this_torch_is_not_below_the_floor():
    release = tuple(int(part) for part in re.match(r"(\d+)\.(\d+)", torch.__version__).groups())
    assert release >= requirements_floor()[:2]
