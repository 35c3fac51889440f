"""trained_model(): notebook 05's model when there is one (here or on a mounted Drive), else a quick one
trained for a bounded time, said so, and reused; never the long `workshop` run (issue 10)."""

from __future__ import annotations

import json
import sys
import types

import pytest
import torch

from helpers import GPT, GPTConfig, runs, save_checkpoint
from helpers.checkpoint import BEST
from helpers.notebook import QUICK_MINUTES, quick_model, trained_model


@pytest.fixture
def runs_here(tmp_path, monkeypatch, corpus_path):
    """Run folders under tmp_path (not this checkout's runs/), smoke mode, the corpus from the test setup."""
    monkeypatch.setattr(runs, "local_runs_folder", lambda: tmp_path / "runs")
    monkeypatch.setenv("WORKSHOP_SMOKE", "1")
    monkeypatch.setenv("WORKSHOP_CORPUS", str(corpus_path))
    return tmp_path / "runs"


def saved_model(folder, corpus, seed=0):
    torch.manual_seed(seed)
    model = GPT(GPTConfig(vocab_size=corpus.tokenizer.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=16))
    save_checkpoint(folder / BEST, model, corpus.tokenizer)
    return model


def same_weights(a, b) -> bool:
    return all(torch.equal(x.cpu(), y.cpu()) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_notebook_05s_run_is_used_when_there_is_one(runs_here, corpus, capsys):
    original = saved_model(runs_here / "notebook-smoke", corpus)
    model, _ = trained_model("cpu")
    assert same_weights(model, original)
    assert "Using notebook 05's model" in capsys.readouterr().out
    assert not (runs_here / "quick-smoke").exists()  # nothing was trained


def test_without_a_run_a_quick_model_is_trained_once_said_so_and_reused(runs_here, capsys):
    model, _ = trained_model("cpu")
    out = capsys.readouterr().out
    assert "No trained model from notebook 05 in" in out
    assert f"Training a quick one for at most {QUICK_MINUTES:g} minutes ('smoke' preset" in out
    assert "run notebook 05 for the real one" in out and "Using a quick model, not notebook 05's" in out
    assert (runs_here / "quick-smoke" / BEST).is_file() and not (runs_here / "notebook-smoke" / BEST).exists()

    again, _ = trained_model("cpu")  # the notebook opened again: the quick model is reused, not retrained
    out = capsys.readouterr().out
    assert "Training a quick one" not in out and "Using a quick model" in out
    assert same_weights(again, model)


def test_the_quick_model_stops_when_its_time_is_spent(runs_here, capsys):
    quick_model("cpu", minutes=1e-6)  # spent before the first step
    assert "Stopped at step 0 of 30: time budget spent." in capsys.readouterr().out
    steps = [
        json.loads(line)["step"] for line in (runs_here / "quick-smoke" / "metrics.jsonl").read_text().splitlines()
    ]
    assert steps == [0]


def test_a_mounted_drive_is_looked_in_for_notebook_05s_run(runs_here, corpus, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(runs, "DRIVE_MOUNT_POINT", tmp_path / "drive")
    on_drive = tmp_path / "drive" / "MyDrive" / runs.DRIVE_PROJECT_FOLDER / "runs" / "notebook-smoke"
    original = saved_model(on_drive, corpus)
    model, _ = trained_model("cpu")
    assert same_weights(model, original)
    assert f"Using notebook 05's model, {on_drive / BEST}" in capsys.readouterr().out


def test_an_unmounted_drive_is_not_mounted_but_named(runs_here, monkeypatch, tmp_path, capsys):
    def mount(*args):
        raise AssertionError("trained_model must not mount Drive (a pop-up in the middle of a notebook)")

    package = types.ModuleType("google.colab")
    package.drive = types.SimpleNamespace(mount=mount)
    monkeypatch.setitem(sys.modules, "google.colab", package)
    monkeypatch.setattr(runs, "DRIVE_MOUNT_POINT", tmp_path / "drive")
    trained_model("cpu")
    assert "trained_model(device, run=notebook_run_dir(use_drive=True))" in capsys.readouterr().out
