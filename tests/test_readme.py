"""The README is what people follow first: its commands and its notebook table must stay true."""

import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

from notebook_cells import configured_repo, readme_table  # noqa: E402

README = (REPO / "README.md").read_text()


def test_notebook_table_matches_the_notebooks_and_the_configured_repo():
    assert readme_table(configured_repo()) in README, "run: python tools/set_repo.py"


def test_ci_runs_the_readme_test_command():
    assert "python -m pytest" in README
    ci_commands = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    assert "python -m pytest" in ci_commands


def test_quickstart_commands_name_real_modules_and_presets():
    from helpers.presets import PRESETS

    for module in re.findall(r"python -m (helpers\.\w+)", README):
        assert (REPO / (module.replace(".", "/") + ".py")).is_file(), module
    for preset in re.findall(r"--preset (\w+)", README):
        assert preset in {"auto", *PRESETS}, preset
