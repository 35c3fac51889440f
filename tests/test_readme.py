"""The README is what people follow first: its commands, its notebook table and its preset table must stay true."""

import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

import nb as tool  # noqa: E402  (tools/nb.py)

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_notebook_table_lists_every_notebook_with_its_badge():
    table = tool.readme_notebook_table(REPO, tool.configured_repo(REPO))
    assert table in README, "the notebook table is out of step. Fix: python tools/nb.py"
    for path in tool.notebook_paths(REPO):
        assert (
            f"(notebooks/{path.name})" in table and tool.badge_markdown(tool.configured_repo(REPO), path.name) in table
        )


def test_preset_table_is_rendered_from_presets_and_the_recorded_runs():
    from helpers.measured import recorded_runs
    from helpers.presets import PRESETS

    table = tool.readme_preset_table(REPO)
    assert table in README, "the preset table is out of step. Fix: python tools/nb.py"
    for name, preset in PRESETS.items():
        assert f"| `{name}` | {preset.shape()}, {preset.settings()} | {preset.num_params() / 1e6:.2f}M |" in table
    for run in recorded_runs():
        assert run.command in table and run.date in table
        assert run.best_val_loss is None or f"**{run.best_val_loss:.3f}**" in table
        assert run.wall_time_s is None or f"**{run.wall_time_s:g} s**" in table


def test_ci_runs_the_readme_test_command():
    assert "python -m pytest" in README
    ci_commands = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    assert "python -m pytest" in ci_commands


def test_commands_name_real_modules_scripts_and_presets():
    from helpers.presets import PRESETS

    for module in re.findall(r"python -m (helpers\.\w+)", README):
        assert (REPO / (module.replace(".", "/") + ".py")).is_file(), module
    for script in re.findall(r"python ((?:tools|benchmarks)/\w+\.py)", README):
        assert (REPO / script).is_file(), script
    for preset in re.findall(r"--preset (\w+)", README):
        assert preset in {"auto", *PRESETS}, preset
