"""Resuming a run with `--preset auto` continues the model and optimizer it started with (helpers.runs.preset_for_run).

`auto` picks a preset by device and budget, so a finished 5-minute run resumed with `--minutes 15` used to
build another preset's model (refused) or optimizer (a broken optimizer state). The budget presets are
replaced here by two tiny ones of different shapes and optimizers, so these tests do not depend on the
real presets' shapes (which change as they are measured). In-process, on a short synthetic text.
"""

from __future__ import annotations

import json

import pytest
from safetensors.torch import load_file, save_file
from test_checkpoint import TEXT

import helpers.presets as presets
import helpers.train as train_cli
from helpers.checkpoint import LAST, load_checkpoint, read_header
from helpers.presets import Preset
from helpers.runs import preset_for_run, run_preset, with_changes
from helpers.schedule import EXTEND_END
from helpers.trainer import TrainConfig

TRAIN = dict(batch_size=8, learning_rate=3e-3, warmup_fraction=0.05, eval_iters=2, log_interval=5)
TINY = {
    # the short budget: a 2-layer model trained with Muon
    "tiny-muon": Preset("test", dict(block_size=32, n_layer=2, n_head=2, n_embd=32), dict(TRAIN, optimizer="muon")),
    # the long budget: another shape, with AdamW
    "tiny-adamw": Preset("test", dict(block_size=16, n_layer=1, n_head=2, n_embd=16), dict(TRAIN)),
    # the short budget's shape with AdamW: disagrees with a tiny-muon run in its optimizer alone
    "tiny-muon-shape": Preset("test", dict(block_size=32, n_layer=2, n_head=2, n_embd=32), dict(TRAIN)),
}
SHORT, LONG = 0.01, 0.03  # minutes: auto picks tiny-muon for the first, tiny-adamw for the second


@pytest.fixture(autouse=True)
def tiny_budget_presets(monkeypatch):
    for name, preset in TINY.items():
        monkeypatch.setitem(presets.PRESETS, name, preset)
    monkeypatch.setattr(presets, "BUDGET_PRESETS", {SHORT: "tiny-muon", LONG: "tiny-adamw"})
    assert presets.resolve_preset_name("auto", "cpu", SHORT) == "tiny-muon"
    assert presets.resolve_preset_name("auto", "cpu", LONG) == "tiny-adamw"


@pytest.fixture
def corpus_file(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(TEXT)
    return path


def train(corpus_file, out, *args) -> int:
    common = ["--corpus", str(corpus_file), "--out", str(out), "--device", "cpu", "--sample-tokens", "5"]
    return train_cli.main([*common, *args])


def settings(run) -> tuple[dict, str, int]:
    """A run's model config, optimizer and step, from its last checkpoint's header."""
    header = read_header(run / LAST)
    return header["config"], header["training"]["train_config"]["optimizer"], header["training"]["step"]


def error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.replace("\r", "\n").strip().splitlines()[-1]


def test_auto_resumed_with_a_larger_budget_continues_the_same_model_and_optimizer(corpus_file, tmp_path, capsys):
    run = tmp_path / "run"
    assert train(corpus_file, run, "--preset", "auto", "--minutes", str(SHORT)) == 0
    config, optimizer, step = settings(run)
    assert optimizer == "muon" and config["n_layer"] == 2
    capsys.readouterr()

    assert train(corpus_file, run, "--preset", "auto", "--minutes", str(LONG), "--resume") == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("resuming with the run's own settings: "))
    assert "2 layers × 2 heads × 32 wide, context 32" in line and "optimizer muon" in line and f"{LONG:g} min" in line
    assert "done (time budget spent)" in out
    assert settings(run)[:2] == (config, "muon")  # not tiny-adamw's shape nor its optimizer
    assert settings(run)[2] > step  # it trained further
    train_config = read_header(run / LAST)["training"]["train_config"]
    assert train_config["budget_minutes"] == LONG  # the new budget, on top of the run's own settings
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    # it ends annealed: the extension holds the run's floor, then anneals to EXTEND_END of it
    assert records[-1]["lr"] == pytest.approx(EXTEND_END * train_config["min_lr"])


def test_a_run_from_before_the_optimizer_was_recorded_resumes_as_adamw(corpus_file, tmp_path, capsys):
    run = tmp_path / "run"
    assert train(corpus_file, run, "--preset", "tiny-muon-shape", "--minutes", str(SHORT)) == 0
    tensors, path = load_file(run / LAST), run / LAST
    header = read_header(path)
    del header["training"]["train_config"]["optimizer"]  # as checkpoints written before the field
    save_file(tensors, path, metadata={key: json.dumps(value) for key, value in header.items()})
    assert "optimizer" not in run_preset(path).train and run_preset(path).settings().count("optimizer") == 0

    # auto would pick tiny-muon (Muon) for this budget: the run's own AdamW is kept
    assert train(corpus_file, run, "--preset", "auto", "--minutes", str(2 * SHORT), "--resume") == 0
    assert "resuming with the run's own settings" in capsys.readouterr().out
    assert settings(run)[1] == "adamw"
    assert load_checkpoint(path).optimizer_state["param_groups"][0]["betas"] == [0.9, 0.99]  # AdamW's state


@pytest.mark.parametrize(
    "named,message",
    [
        ("tiny-adamw", "The checkpoint does not match this model (block_size: checkpoint 32 vs model 16"),
        ("tiny-muon-shape", "was trained with the muon optimizer, but this run is set to adamw"),
    ],
)
def test_a_named_preset_that_disagrees_with_the_run_is_refused_with_the_fix(
    corpus_file, tmp_path, capsys, named, message
):
    run = tmp_path / "run"
    assert train(corpus_file, run, "--preset", "auto", "--minutes", str(SHORT)) == 0
    before = (run / LAST).read_bytes()
    capsys.readouterr()
    assert train(corpus_file, run, "--preset", named, "--minutes", str(LONG), "--resume") == 2
    line = error_line(capsys)
    assert message in line and "--preset auto reads them from the checkpoint" in line
    assert (run / LAST).read_bytes() == before  # nothing trained, nothing lost


def test_a_fresh_run_and_a_named_preset_take_the_preset(tmp_path):
    assert preset_for_run("auto", "cpu", tmp_path, minutes=LONG)[0] == "tiny-adamw"  # nothing to resume
    name, preset = preset_for_run("tiny-muon", "cpu", tmp_path, minutes=LONG, resume=True, max_iters=None)
    assert name == "tiny-muon" and preset.train == {**TINY["tiny-muon"].train, "budget_minutes": LONG}


def test_explicit_changes_replace_what_they_contradict():
    budget = Preset("run", {}, {"budget_minutes": 5, "max_iters": 5000, "learning_rate": 6e-3, "min_lr": 6e-4})
    assert with_changes(budget, minutes=15).train["budget_minutes"] == 15
    by_steps = with_changes(budget, max_iters=900, batch_size=None).train  # None: not set
    assert "budget_minutes" not in by_steps and by_steps["max_iters"] == 900 and "batch_size" not in by_steps
    assert with_changes(budget, learning_rate=1e-3).train["min_lr"] == pytest.approx(1e-4)  # a tenth, as it was
    annealed_to_zero = Preset("run", {}, {"budget_minutes": 5, "learning_rate": 6e-3, "min_lr": 0.0})
    assert with_changes(annealed_to_zero, learning_rate=1e-2).train["min_lr"] == 0.0  # still zero
    assert "min_lr" not in with_changes(Preset("run", {}, {"learning_rate": 6e-3}), learning_rate=1e-3).train
    floor_only = Preset("run", {}, {"min_lr": TrainConfig.learning_rate / 4})  # its peak: TrainConfig's
    assert with_changes(floor_only, learning_rate=2e-3).train["min_lr"] == pytest.approx(5e-4)
    assert with_changes(budget, learning_rate=1e-3, min_lr=1e-5).train["min_lr"] == 1e-5
