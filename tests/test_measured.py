"""benchmarks/measured.json: the recorded runs behind the README's preset table, and every way to break it."""

import json

import pytest

from helpers import PRESETS, WorkshopError
from helpers.measured import MEASURED_FILE, recorded_runs

GOOD = {
    "preset": "laptop",
    "best_val_loss": 1.8,
    "wall_time_s": 26.5,
    "command": "python -m helpers.train --preset laptop",
    "machine": "a laptop",
    "date": "2026-11-24",
}


def write(tmp_path, content) -> str:
    path = tmp_path / "measured.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_the_recorded_runs_are_valid_and_name_real_presets():
    runs = recorded_runs(MEASURED_FILE)
    assert runs and all(run.preset in PRESETS for run in runs)
    assert recorded_runs(MEASURED_FILE, preset="laptop") == [r for r in runs if r.preset == "laptop"]


def test_a_run_reads_back_with_its_figures_and_summary(tmp_path):
    (run,) = recorded_runs(write(tmp_path, {"runs": [{**GOOD, "note": "quiet"}]}))
    assert (run.best_val_loss, run.wall_time_s, run.note) == (1.8, 26.5, "quiet")
    assert (
        run.summary()
        == "best val loss 1.800, 26.5 s for the whole command (a laptop, 2026-11-24: " + GOOD["command"] + ")"
    )


def test_no_file_means_no_recorded_runs(tmp_path):
    assert recorded_runs(tmp_path / "absent.json") == []


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", r"is not valid JSON .*Fix: repair the file"),
        ({"runs": {}}, r'must hold \{"runs": \[\.\.\.\]\}\. Fix'),
        ({"runs": ["laptop"]}, r"run 1 is not an object\. Fix"),
        ({"runs": [{**GOOD, "command": ""}]}, r"run 1 lacks command\. Fix: every run says what ran where and when"),
        ({"runs": [{k: v for k, v in GOOD.items() if k != "machine"}]}, r"lacks machine\. Fix"),
        ({"runs": [{**GOOD, "preset": "huge"}]}, r"preset 'huge' is not in PRESETS\. Fix: use one of workshop"),
        ({"runs": [{**GOOD, "date": "24/11/2026"}]}, r"date '24/11/2026' is not YYYY-MM-DD\. Fix"),
        ({"runs": [{**GOOD, "wall_time_s": "26 s"}]}, r"wall_time_s must be a positive number, not '26 s'\. Fix"),
        ({"runs": [{**GOOD, "best_val_loss": -1}]}, r"best_val_loss must be a positive number, not -1\. Fix"),
        ({"runs": [{**GOOD, "best_val_loss": None, "wall_time_s": None}]}, r"records no figure\. Fix: add"),
        ({"runs": [{**GOOD, "steps": 1.5}]}, r"steps must be a positive whole number, not 1\.5"),
        ({"runs": [{**GOOD, "gpu": "T4"}]}, r"unknown fields \['gpu'\]\. Fix: use only"),
    ],
    ids=[
        "not json",
        "no runs list",
        "run not an object",
        "empty command",
        "no machine",
        "unknown preset",
        "bad date",
        "time as text",
        "negative loss",
        "no figure",
        "fractional steps",
        "unknown field",
    ],
)
def test_a_broken_file_names_the_run_and_the_fix(tmp_path, content, message):
    with pytest.raises(WorkshopError, match=message):
        recorded_runs(write(tmp_path, content))
