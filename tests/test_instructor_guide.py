"""docs/instructor.md: its timing table is rendered from docs/timings.json (times are never typed), lists
every notebook, and the script that records the times really runs a notebook and reads its cells' times."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("time_notebooks", REPO / "tools" / "time_notebooks.py")
timing = importlib.util.module_from_spec(spec)
spec.loader.exec_module(timing)

NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
GUIDE = (REPO / "docs" / "instructor.md").read_text(encoding="utf-8")


def test_the_timing_table_is_in_step_with_the_record():
    assert timing.render(REPO) == GUIDE, (
        "docs/instructor.md is out of step. Fix: python tools/time_notebooks.py --render"
    )


def test_the_timing_table_lists_every_notebook():
    table = GUIDE.split(timing.MARKERS[0])[1].split(timing.MARKERS[1])[0]
    for path in NOTEBOOKS:
        assert f"\n| {path.name[:2]} · " in table, f"{path.name} has no row in the guide's timing table"


def test_every_notebook_has_its_section_in_the_guide():
    for path in NOTEBOOKS:
        assert f"\n### {path.name[:2]} · " in GUIDE, f"docs/instructor.md has no section for {path.name}"


def run(notebook, kind="cpu", mode="full", seconds=65.0):
    return {
        "notebook": notebook,
        "mode": mode,
        "kind": kind,
        "machine": f"a {kind}",
        "date": "2026-11-25",
        "load": "1.0 / 1.2",
        "command": "python tools/time_notebooks.py",
        "seconds": seconds,
        "slowest": [{"cell": 21, "line": "trainer = resume_or_start(...)", "seconds": 50.0}],
    }


def test_recorded_times_fill_their_cells_and_the_rest_say_not_measured():
    name = NOTEBOOKS[0].stem
    record = {"runs": [run(name), run(name, kind="gpu", seconds=12.0), run(name, mode="smoke", seconds=1.0)]}
    table = timing.timing_table(REPO, record)
    rows, main = table.splitlines(), table.split("Opened alone")[0].splitlines()  # the full-mode table first
    first = next(r for r in main if r.startswith(f"| {name[:2]} · "))
    assert "| **1m 05s** | **12s** | cell 21 `trainer = resume_or_start(...)`: 50s |" in first
    others = [r for r in main if r.startswith("| ") and r[2:4].isdigit() and not r.startswith(f"| {name[:2]} ")]
    assert others and all(r.count("not measured yet") == 2 for r in others)  # smoke runs never count
    assert "- CPU runs: a cpu, 2026-11-25, 1-minute load average 1.0–1.2 before and after each notebook" in rows


def test_the_record_keeps_the_latest_run_per_notebook_machine_and_mode():
    record = {"runs": []}
    timing.remember(record, run("05_training", seconds=100.0))
    timing.remember(record, run("05_training", kind="gpu", seconds=20.0))
    timing.remember(record, run("05_training", seconds=90.0))
    assert sorted((r["kind"], r["seconds"]) for r in record["runs"]) == [("cpu", 90.0), ("gpu", 20.0)]


def test_cell_times_come_from_nbclients_timestamps():
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.metadata["execution"] = {
        "iopub.execute_input": "2026-11-25T10:00:00.000000Z",
        "shell.execute_reply": "2026-11-25T10:01:05.500000Z",
    }
    assert timing.cell_seconds(cell) == 65.5
    assert timing.cell_seconds(nbformat.v4.new_code_cell("y")) == 0.0
    assert timing.first_line("# a comment\nmodel = GPT(config)\n") == "model = GPT(config)"


@pytest.mark.slow
def test_the_script_runs_a_notebook_and_records_it(tmp_path, corpus_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_CORPUS", str(corpus_path))
    record = tmp_path / "timings.json"
    assert timing.main(["--smoke", "01", "--record", str(record), "--out", str(tmp_path / "executed")]) == 0
    assert (tmp_path / "executed" / "01_tokenizer.ipynb").is_file(), "the executed copy was not kept"
    (entry,) = json.loads(record.read_text())["runs"]
    assert entry["notebook"] == "01_tokenizer" and entry["mode"] == "smoke" and entry["seconds"] > 0
    assert len(entry["slowest"]) == timing.SLOWEST_KEPT and all(s["seconds"] >= 0 for s in entry["slowest"])
    assert entry["kind"] in ("cpu", "gpu") and entry["machine"] and entry["load"]


def test_notebooks_opened_alone_get_their_own_table_and_never_the_main_ones_cells():
    waits = [p for p in NOTEBOOKS if timing.uses_trained_model(p)]
    assert waits, "no notebook loads notebook 05's model (trained_model): the opened-alone table would be empty"
    name = waits[0].stem
    record = {"runs": [run(name, seconds=6.0), run(name, mode="full-alone", seconds=150.0)]}
    table = timing.timing_table(REPO, record)
    main, alone = table.split("Opened alone", 1)
    assert f"| {name[:2]} · " in main and "**6s**" in main and "2m 30s" not in main
    alone_rows = [r for r in alone.splitlines() if r.startswith("| ") and r[2:4].isdigit()]
    assert [r[2:4] for r in alone_rows] == [p.name[:2] for p in waits], "one row per notebook that loads 05's model"
    assert "| **2m 30s** | not measured yet | not measured yet |" in alone_rows[0]
    assert all(r.count("not measured yet") == 3 for r in alone_rows[1:])


def test_the_doctor_never_counts_a_run_opened_alone(tmp_path):
    from helpers.preflight import Probe, notebook_estimates

    probe = Probe(preset="laptop", device="cpu", step_s=0.1, eval_s=1.0, tokens_per_s=1000.0, steps_timed=5)
    path = tmp_path / "timings.json"
    records = [
        {**run("06_sampling", seconds=6.0), "probe_preset": "laptop", "probe_tokens_per_s": 1000},
        {**run("07_kv_cache", mode="full-alone", seconds=150.0), "probe_preset": "laptop", "probe_tokens_per_s": 1000},
    ]
    path.write_text(json.dumps({"runs": records}))
    assert set(notebook_estimates(probe, path)) == {"06_sampling"}


def test_a_fresh_checkout_is_the_tracked_files_without_runs(tmp_path):
    copy = timing.fresh_checkout(tmp_path / "clone")
    for path in NOTEBOOKS:
        assert (copy / "notebooks" / path.name).read_bytes() == path.read_bytes()
    assert (copy / "helpers" / "notebook.py").is_file() and (copy / "data").is_dir()
    assert not (copy / "runs").exists() and not (copy / "build").exists() and not (copy / ".git").exists()
