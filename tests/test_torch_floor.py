"""The declared minimum torch is one that has run: CI runs the unit tests in the Colab venv (.ci/run), whose
torch is Colab's (tests/colab/requirements.txt), and that is the floor requirements.txt declares.

These tests keep the declaration, the Colab pin and the CI step in step; the run itself is CI's (minutes).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from colab_runtime import COLAB_PYTHON_VERSION, colab_pins  # noqa: E402


def declared_floor(requirement: str) -> tuple[int, ...]:
    found = re.fullmatch(r"torch>=(\d+(?:\.\d+)*)", requirement.split("#")[0].strip())
    assert found, f"torch must be declared as torch>=X.Y, not {requirement!r}"
    return tuple(int(part) for part in found[1].split("."))


def requirements_floor() -> tuple[int, ...]:
    (line,) = [line for line in (ROOT / "requirements.txt").read_text().splitlines() if line.startswith("torch")]
    return declared_floor(line)


def ci_commands() -> list[str]:
    """.ci/run's lines that are commands (not comments)."""
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def test_requirements_and_pyproject_declare_the_same_floor():
    pyproject = (ROOT / "pyproject.toml").read_text()  # a regex, not tomllib: Python 3.10 has none
    (torch_dependency,) = re.findall(r'^\s*"(torch[^"]*)",?$', pyproject, flags=re.M)
    assert declared_floor(torch_dependency) == requirements_floor()


def test_the_floor_is_what_colab_runs_or_newer():
    assert requirements_floor() >= (2, 11)  # torch.amp.GradScaler("cuda"), torch.compile as the trainer uses them


def test_the_colab_venv_installs_the_declared_floor():
    """When Colab's torch moves, the floor moves with it (or the unit tests no longer run on the floor)."""
    pinned = tuple(int(part) for part in colab_pins()["torch"].split("."))
    floor = requirements_floor()
    assert pinned[: len(floor)] == floor and not any(pinned[len(floor) :]), (
        f"tests/colab/requirements.txt pins torch {colab_pins()['torch']}, requirements.txt declares torch>="
        + ".".join(map(str, floor))
        + ": keep them equal"
    )


ENV_PREFIX = re.compile(r"(?:[A-Z_][A-Z0-9_]*=\S*\s+)*")


def test_ci_makes_the_colab_venv_with_colabs_python_and_runs_the_unit_tests_there():
    commands = ci_commands()
    assert 'COLAB_PYTHON_VERSION="$(cat tests/colab/python-version)"' in commands
    assert re.fullmatch(r"3\.\d+", COLAB_PYTHON_VERSION)
    assert any('tools/find_python.py "$COLAB_PYTHON_VERSION"' in line for line in commands)
    assert '"$COLAB_BASE_PYTHON" -m venv .venv-colab' in commands
    assert ".venv-colab/bin/pip install -q -r tests/colab/requirements.txt -r requirements.txt" in commands
    # The line may start with environment settings (e.g. WORKSHOP_REQUIRE_EDITION=0: no site tools there).
    unit_tests_at = [line.find(".venv-colab/bin/python -m pytest") for line in commands]
    (unit_tests,) = [line for line, at in zip(commands, unit_tests_at) if at >= 0 and ENV_PREFIX.fullmatch(line[:at])]
    assert re.search(r'-m "not browser" tests --ignore=tests/test_colab.py$', unit_tests)
    assert commands.index(unit_tests) > commands.index("python -m pytest")  # after the README's command


def test_this_torch_is_not_below_the_floor():
    release = tuple(int(part) for part in re.match(r"(\d+)\.(\d+)", torch.__version__).groups())
    assert release >= requirements_floor()[:2]
