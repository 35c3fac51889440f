"""Ruff, lint and format, over helpers/, tests/, tools/, benchmarks/ and the notebooks' code cells.

Configured in pyproject.toml ([tool.ruff]); `python -m pytest` runs it, so CI does. Fix with:
    ruff check --fix . && ruff format .     (or: python tools/nb.py for the notebooks)
"""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CHECKED = ["helpers", "tests", "tools", "benchmarks", "notebooks"]


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff_is_clean(command):
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *command, *CHECKED], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_sees_the_notebooks():
    """Ruff reads .ipynb code cells only when asked to: make sure they are among the files it checks."""
    listed = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--show-files", *CHECKED], cwd=REPO, capture_output=True, text=True
    ).stdout
    notebooks = sorted((REPO / "notebooks").glob("*.ipynb"))
    assert notebooks and all(str(path) in listed for path in notebooks)


def test_pre_commit_hooks_are_local_and_run_what_ci_runs():
    """pre-commit can clone nothing here: every hook is `repo: local`, running an installed tool."""
    import yaml

    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    hooks = {hook["id"]: hook for hook in config["repos"][0]["hooks"]}
    assert all(hook["language"] == "system" for hook in hooks.values())
    assert hooks["ruff-check"]["entry"].startswith("python -m ruff check --fix")
    assert hooks["ruff-format"]["entry"].startswith("python -m ruff format")
    assert hooks["notebooks"]["entry"] == "python tools/nb.py" and (REPO / "tools" / "nb.py").is_file()
    assert set(hooks["ruff-check"]["types_or"]) == {"python", "jupyter"}
