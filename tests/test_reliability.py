"""Issue 6: every bad input gets a WorkshopError naming the problem and the fix; training survives a kill.

One test per case of the issue's list. The checkpoint cases (truncated, corrupted, foreign, config
mismatch, SIGKILL mid-write) are in test_checkpoint.py. Neither the corpus nor the network is needed:
the runs here train a one-layer model on a short synthetic text.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import signal
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import pytest
import torch
from test_checkpoint import TEXT, tiny_trainer

import helpers.runs as runs
import helpers.sample as sample_cli
import helpers.train as train_cli
from helpers import (
    GPT,
    Callback,
    Corpus,
    GPTConfig,
    Trainer,
    WorkshopError,
    find_corpus,
    get_batch,
    load_checkpoint,
    load_text,
    sample_text,
)
from helpers.checkpoint import LAST
from helpers.data import CORPUS_ENV_VAR
from helpers.notebook import _show_workshop_error, setup

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(run folder, model, tokenizer) of a tiny model trained for 4 steps on TEXT."""
    out = tmp_path_factory.mktemp("trained")
    trainer = tiny_trainer(out)
    trainer.fit()
    return out, trainer.model.eval(), trainer.corpus.tokenizer


# ---- sampling ----------------------------------------------------------------------------------


def test_prompt_with_characters_outside_the_vocabulary(trained):
    _, model, tokenizer = trained
    with pytest.raises(
        WorkshopError, match=r"2 character\(s\) the model has never seen: 'é' \(U\+00E9\), 'ü' .*Fix: use only"
    ):
        sample_text(model, tokenizer, "To be, é ü", 5)


def test_empty_prompt(trained):
    _, model, tokenizer = trained
    with pytest.raises(WorkshopError, match=r"The prompt is empty\. Fix: give at least one character"):
        sample_text(model, tokenizer, "", 5)


def test_temperature_zero_is_greedy_whatever_the_seed(trained):
    _, model, tokenizer = trained
    texts = {sample_text(model, tokenizer, "To be", 20, temperature=0, seed=s) for s in (0, 1, 2)}
    assert len(texts) == 1  # greedy: no randomness left
    idx = torch.tensor([tokenizer.encode("To be")])
    for _ in range(20):
        idx = torch.cat([idx, model(idx[:, -16:])[0][:, -1].argmax(-1, keepdim=True)], dim=1)
    assert texts == {tokenizer.decode(idx[0])}


@pytest.mark.parametrize("temperature", [-1.0, -0.01, float("nan"), float("inf")])
def test_negative_or_non_finite_temperature(trained, temperature):
    _, model, tokenizer = trained
    with pytest.raises(WorkshopError, match=rf"temperature={temperature} is invalid\. Fix: use 0 for greedy"):
        sample_text(model, tokenizer, "To be", 5, temperature=temperature)


@pytest.mark.parametrize("top_k", [0, -1, "vocab + 1", 2.5])
def test_top_k_zero_negative_or_larger_than_the_vocabulary(trained, top_k):
    _, model, tokenizer = trained
    top_k = tokenizer.vocab_size + 1 if top_k == "vocab + 1" else top_k
    with pytest.raises(
        WorkshopError,
        match=rf"top_k={top_k} is invalid\. Fix: use a whole number from 1 to the vocabulary size \({tokenizer.vocab_size}\)",
    ):
        sample_text(model, tokenizer, "To be", 5, top_k=top_k)


def test_top_k_equal_to_the_vocabulary_is_fine(trained):
    _, model, tokenizer = trained
    assert len(sample_text(model, tokenizer, "To be", 5, top_k=tokenizer.vocab_size, seed=0)) == 10


@pytest.mark.parametrize("top_p", [0.0, -0.5, 1.01, float("nan")])
def test_top_p_outside_0_1(trained, top_p):
    _, model, tokenizer = trained
    with pytest.raises(WorkshopError, match=rf"top_p={top_p} is invalid\. Fix: use a number in \(0, 1\]"):
        sample_text(model, tokenizer, "To be", 5, top_p=top_p)


def test_n_embd_not_divisible_by_n_head():
    with pytest.raises(
        WorkshopError, match=r"n_embd=100 is not divisible by n_head=6.*Fix: pick n_head from \[1, 2, 4, 5, 10"
    ):
        GPTConfig(n_embd=100, n_head=6)


def test_context_longer_than_the_block_size_at_sampling(trained):
    _, model, tokenizer = trained
    long_prompt = TEXT[:200]  # block_size is 16
    text = sample_text(model, tokenizer, long_prompt, 10, seed=0)  # generate() crops to the last 16 tokens
    assert text.startswith(long_prompt) and len(text) == 210
    idx = torch.tensor([tokenizer.encode(long_prompt)])
    with pytest.raises(
        WorkshopError, match=r"The input has 200 tokens but the model's context \(block_size\) is 16\. Fix: crop"
    ):
        model(idx)  # the model itself refuses instead of failing inside the position embedding


# ---- data --------------------------------------------------------------------------------------


def test_block_size_longer_than_the_data():
    short = Corpus.load(text="To be, or not to be.\n" * 5)  # 105 characters: 10 of them for validation
    model = GPT(GPTConfig(vocab_size=short.tokenizer.vocab_size, block_size=32, n_layer=1, n_head=1, n_embd=8))
    with pytest.raises(
        WorkshopError, match=r"block_size=32 is longer than the validation split \(11 tokens\)\. Fix: lower block_size"
    ):
        Trainer(model, short)
    with pytest.raises(
        WorkshopError, match=r"block_size=32 is longer than the data \(11 tokens\)\. Fix: lower block_size"
    ):
        get_batch(short.val, 4, 32)


def test_missing_corpus_with_no_network(tmp_path, monkeypatch):
    monkeypatch.delenv(CORPUS_ENV_VAR, raising=False)
    monkeypatch.setattr("helpers.data.default_data_dir", lambda: tmp_path / "data")

    def no_network(*args, **kwargs):
        raise OSError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr("urllib.request.urlopen", no_network)
    with pytest.raises(
        WorkshopError,
        match=r"Could not download the tiny Shakespeare corpus .*Temporary failure.*Fix: connect to the internet, "
        r"or copy the file to .*tinyshakespeare\.txt, or set WORKSHOP_CORPUS=",
    ):
        find_corpus()
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())  # no half file left
    with pytest.raises(WorkshopError, match=r"Corpus not found at .*nowhere\.txt \(from the path you gave\)\. Fix"):
        find_corpus(tmp_path / "nowhere.txt")


def zipped(text: str) -> bytes:
    """The corpus as a .zip, what a browser download sometimes leaves instead of the .txt."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("input.txt", text)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "content, message",
    [
        (zipped(TEXT), r"is not UTF-8 text \(byte 0x.. at offset \d+\)\. Fix: use the plain-text"),
        ("Shakespeare in Latin-1: café\n".encode("latin-1"), r"is not UTF-8 text \(byte 0xe9 at offset 27\)\. Fix"),
        (TEXT.encode("utf-16"), r"is not UTF-8 text \(byte 0xff at offset 0\)\. Fix"),  # with a byte-order mark
        (
            TEXT.encode("utf-16-le"),
            r"is binary or UTF-16, not UTF-8 text \(it contains NUL bytes, the first at character 1\)\. Fix",
        ),
        (b"  \n\n", r"is empty\. Fix: use a text file with some writing in it"),
    ],
    ids=["zip", "latin-1", "utf-16", "utf-16 without BOM", "blank"],
)
def test_corpus_that_is_not_utf8_text(tmp_path, content, message):
    path = tmp_path / "corpus.txt"
    path.write_bytes(content)
    with pytest.raises(WorkshopError, match=message):
        load_text(path)


def test_utf8_corpus_with_a_byte_order_mark_is_read_without_it(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_bytes(TEXT.encode("utf-8-sig"))
    assert load_text(path) == TEXT


# ---- training: NaN / inf and out of memory -----------------------------------------------------


def test_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(tmp_path):
    trainer = tiny_trainer(tmp_path, max_iters=50, learning_rate=1e6)  # really diverges, within a few steps
    with pytest.raises(
        WorkshopError,
        match=r"Training diverged: the (training loss at step|loss at the evaluation of step) \d+.* is not a finite number\. "
        r"The last good checkpoint is kept in .*\. Fix: lower learning_rate \(now 1000000\.0; try half\)",
    ):
        trainer.fit()
    kept = load_checkpoint(tmp_path / LAST)
    assert kept.training["step"] < trainer.step
    assert all(torch.isfinite(t).all() for t in kept.model_state.values())
    assert all(math.isfinite(r["val_loss"]) for r in kept.training["history"])


def test_inf_loss_stops_training_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    trainer = tiny_trainer(tmp_path, max_iters=10)
    real_step = trainer.train_step

    def step_then_blow_up():
        loss = real_step()
        return torch.tensor(float("inf")) if trainer.step >= 3 else loss

    monkeypatch.setattr(trainer, "train_step", step_then_blow_up)
    with pytest.raises(
        WorkshopError, match=r"the training loss at step 4 is not a finite number\. The last good checkpoint is kept"
    ):
        trainer.fit()
    assert load_checkpoint(tmp_path / LAST).training["step"] == 2


def test_nan_at_evaluation_is_caught_before_it_is_saved(tmp_path, monkeypatch):
    trainer = tiny_trainer(tmp_path, max_iters=10)
    real_estimate = trainer.estimate_loss
    monkeypatch.setattr(
        trainer, "estimate_loss", lambda: real_estimate() if trainer.step < 4 else {"train": 1.0, "val": float("nan")}
    )
    with pytest.raises(
        WorkshopError,
        match=r"the loss at the evaluation of step 4 \(\{'train': 1\.0, 'val': nan\}\) is not a finite number",
    ):
        trainer.fit()
    assert load_checkpoint(tmp_path / LAST).training["step"] == 2


@pytest.mark.parametrize(
    "error",
    [
        torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        RuntimeError("MPS backend out of memory (MPS allocated: 8.00 GB, other allocations: 1.00 GB)"),
    ],
    ids=["cuda", "mps"],
)
@pytest.mark.parametrize("during", ["training", "evaluation"])
def test_out_of_memory_says_which_setting_to_lower(monkeypatch, error, during):
    trainer = tiny_trainer(max_iters=4)

    def out_of_memory(*args, **kwargs):
        raise error

    monkeypatch.setattr(trainer, "train_step" if during == "training" else "estimate_loss", out_of_memory)
    with pytest.raises(
        WorkshopError,
        match=rf"Out of GPU memory during {during} at batch_size=4, block_size=16, n_layer=1, n_embd=16\. "
        r"Fix: lower batch_size first \(e\.g\. 2: --batch-size or TrainConfig\(batch_size=\.\.\.\)\)",
    ):
        trainer.fit()


def test_out_of_memory_in_a_compiled_model_is_not_retried_eagerly(monkeypatch):
    trainer = tiny_trainer(max_iters=4)
    trainer._forward = lambda x, y: trainer.model(x, y)  # stands in for a torch.compile'd model
    calls = []

    def out_of_memory():
        calls.append(1)
        raise torch.OutOfMemoryError("CUDA out of memory.")

    monkeypatch.setattr(trainer, "train_step", out_of_memory)
    with pytest.raises(WorkshopError, match="Out of GPU memory during training"):
        trainer._guarded_step()
    assert len(calls) == 1


# ---- the command lines: one line on stderr, exit status 2 --------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--prompt", "To bé"],
            r"error: The text contains 1 character\(s\) the model has never seen: 'é' \(U\+00E9\)\. Fix",
        ),
        (["--prompt", ""], r"error: The prompt is empty\. Fix"),
        (["--temperature", "-1"], r"error: temperature=-1\.0 is invalid\. Fix"),
        (["--top-k", "0"], r"error: top_k=0 is invalid\. Fix"),
        (["--top-k", "-3"], r"error: top_k=-3 is invalid\. Fix"),
        (["--top-k", "1000"], r"error: top_k=1000 is invalid\. Fix"),
        (["--top-p", "0"], r"error: top_p=0\.0 is invalid\. Fix"),
        (["--top-p", "1.5"], r"error: top_p=1\.5 is invalid\. Fix"),
        (["--tokens", "-1"], r"error: --tokens=-1 is invalid\. Fix: use a whole number ≥ 0"),
    ],
)
def test_sample_cli_bad_input_is_one_line_and_exit_2(trained, capsys, args, message):
    run, _, _ = trained
    status = sample_cli.main(["--run", str(run), "--device", "cpu", *args])
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err
    assert re.match(message, last_line(err)), err


def test_sample_cli_temperature_zero_and_default_top_k_work(trained, capsys):
    run, _, tokenizer = trained
    assert tokenizer.vocab_size < 50  # the default top-k (50) is clipped to this vocabulary
    assert (
        sample_cli.main(
            ["--run", str(run), "--device", "cpu", "--prompt", "To be", "--tokens", "8", "--temperature", "0"]
        )
        == 0
    )
    assert capsys.readouterr().out.startswith("To be")


def last_line(stderr: str) -> str:
    """The CLI's error line: the last line on stderr (tqdm's progress bar, redrawn with \\r, comes before it)."""
    return stderr.replace("\r", "\n").strip().splitlines()[-1]


@pytest.fixture
def small_corpus_file(tmp_path) -> Path:
    path = tmp_path / "corpus.txt"
    path.write_text(TEXT)
    return path


def test_train_cli_resume_without_a_checkpoint(tmp_path, small_corpus_file, capsys):
    status = train_cli.main(
        ["--preset", "smoke", "--corpus", str(small_corpus_file), "--out", str(tmp_path / "new"), "--resume"]
    )
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err
    assert (
        last_line(err).startswith("error: Nothing to resume: no checkpoint at") and "Fix: start without resuming" in err
    )


def test_train_cli_nan_is_one_line_and_keeps_the_last_checkpoint(tmp_path, small_corpus_file, capsys, monkeypatch):
    real_step = Trainer.train_step

    def nan_from_step_12(self):
        loss = real_step(self)
        return torch.tensor(float("nan")) if self.step >= 12 else loss

    monkeypatch.setattr(Trainer, "train_step", nan_from_step_12)
    out = tmp_path / "run"
    status = train_cli.main(
        ["--preset", "smoke", "--corpus", str(small_corpus_file), "--out", str(out), "--device", "cpu"]
    )
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err
    assert last_line(err).startswith("error: Training diverged: the training loss at step 15 is not a finite number.")
    assert load_checkpoint(out / LAST).training["step"] == 10  # smoke: eval every 10, loss checked every 5


def test_train_cli_out_of_memory_is_one_line(tmp_path, small_corpus_file, capsys, monkeypatch):
    def out_of_memory(self):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(Trainer, "train_step", out_of_memory)
    status = train_cli.main(["--preset", "smoke", "--corpus", str(small_corpus_file), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err
    assert (
        last_line(err).startswith("error: Out of GPU memory during training at batch_size=8") and "--batch-size" in err
    )


CUT_AFTER_STEP_20 = r"""
import os, signal, sys
import helpers.trainer

evaluate = helpers.trainer.Trainer.evaluate


def evaluate_then_die(self, *args):  # a Colab disconnect right after the step-20 checkpoint
    record = evaluate(self, *args)
    if record["step"] == 20:
        os.kill(os.getpid(), signal.SIGKILL)
    return record


helpers.trainer.Trainer.evaluate = evaluate_then_die
from helpers.train import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX-only")
def test_cli_resume_after_a_kill_matches_an_uninterrupted_run(small_corpus_file, tmp_path):
    def train(out, *extra, script=None):
        command = ["-c", script] if script else ["-m", "helpers.train"]
        args = [
            "--preset",
            "smoke",
            "--out",
            str(out),
            "--corpus",
            str(small_corpus_file),
            "--device",
            "cpu",
            "--seed",
            "7",
            "--sample-tokens",
            "60",
            *extra,
        ]
        return subprocess.run([sys.executable, *command, *args], cwd=REPO, capture_output=True, text=True, timeout=300)

    full = train(tmp_path / "full")
    assert full.returncode == 0, full.stderr
    cut = train(tmp_path / "cut", script=CUT_AFTER_STEP_20)
    assert cut.returncode == -signal.SIGKILL, cut.stderr
    assert load_checkpoint(tmp_path / "cut" / LAST).training["step"] == 20
    resumed = train(tmp_path / "cut", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from" in resumed.stdout and "at step 20" in resumed.stdout

    def metrics(run):
        records = [json.loads(line) for line in (tmp_path / run / "metrics.jsonl").read_text().splitlines()]
        return [(r["step"], r["train_loss"], r["val_loss"], r["lr"], r["best"]) for r in records]

    assert [m[0] for m in metrics("full")] == [0, 10, 20, 30]
    assert metrics("cut") == metrics("full")  # exactly equal, not approximately
    assert (tmp_path / "cut" / "sample.txt").read_text() == (tmp_path / "full" / "sample.txt").read_text()
    full_state, cut_state = load_checkpoint(tmp_path / "full" / LAST), load_checkpoint(tmp_path / "cut" / LAST)
    for name, tensor in full_state.model_state.items():
        assert torch.equal(cut_state.model_state[name], tensor), name


# ---- notebooks show the message ----------------------------------------------------------------


def test_notebook_handler_shows_the_message_in_one_line(capsys):
    error = WorkshopError("top_k=0 is invalid. Fix: use a whole number from 1 to the vocabulary size (65).")
    assert _show_workshop_error(None, WorkshopError, error, None) is None  # None: IPython prints no traceback
    captured = capsys.readouterr()
    assert captured.err == f"⚠️  {error}\n" and captured.out == ""


def test_setup_registers_the_handler_for_workshop_errors(monkeypatch, capsys):
    registered = {}
    shell = types.SimpleNamespace(
        set_custom_exc=lambda exc_tuple, handler: registered.update(exc=exc_tuple, handler=handler)
    )
    monkeypatch.setattr("helpers.notebook.get_ipython", lambda: shell)
    setup(seed=None)
    assert registered == {"exc": (WorkshopError,), "handler": _show_workshop_error}


SHELL_SESSION = r"""
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()
shell.run_cell("from helpers.notebook import setup; device = setup(seed=None)")
result = shell.run_cell("from helpers import CharTokenizer; CharTokenizer.from_text('abc').encode('abz')")
print("error_in_exec:", type(result.error_in_exec).__name__)
"""


def test_a_real_ipython_shell_shows_one_line_not_a_traceback():
    result = subprocess.run(
        [sys.executable, "-c", SHELL_SESSION],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert result.returncode == 0, result.stderr
    assert "error_in_exec: WorkshopError" in result.stdout
    assert "⚠️  The text contains 1 character(s) the model has never seen: 'z' (U+007A)" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


# ---- Colab: run folders on Google Drive, resume after a disconnect -----------------------------


def test_run_dir_is_runs_name_in_the_checkout(tmp_path, monkeypatch):
    monkeypatch.setattr(runs, "local_runs_folder", lambda: tmp_path / "runs")
    folder = runs.run_dir("workshop")
    assert folder == tmp_path / "runs" / "workshop" and folder.is_dir()


def test_run_dir_default_is_under_this_checkout():
    assert runs.local_runs_folder() == REPO / "runs"


@pytest.mark.parametrize("name", ["", "..", "a/b", "..\\x", "C:"])
def test_run_dir_refuses_names_that_are_not_a_folder_name(name):
    with pytest.raises(WorkshopError, match=r"is not a plain folder name\. Fix: use letters, digits"):
        runs.run_dir(name)


def test_run_dir_on_drive_outside_colab_explains_it_is_colab_only(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    with pytest.raises(WorkshopError, match=r"use_drive=True works only in Google Colab.*Fix: use run_dir\(name\)"):
        runs.run_dir("workshop", use_drive=True)


def fake_colab(monkeypatch, tmp_path, mount):
    """Pretend to be in Colab: a google.runs.drive module whose mount() is `mount`."""
    google = types.ModuleType("google")
    package = types.ModuleType("google.colab")
    package.drive = types.SimpleNamespace(mount=mount)
    google.colab = package
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", package)
    monkeypatch.setattr(runs, "DRIVE_MOUNT_POINT", tmp_path / "drive")


def test_run_dir_on_drive_in_colab_mounts_drive_once(monkeypatch, tmp_path):
    mounts = []

    def mount(mount_point):
        mounts.append(mount_point)
        (Path(mount_point) / "MyDrive").mkdir(parents=True)

    fake_colab(monkeypatch, tmp_path, mount)
    folder = runs.run_dir("workshop", use_drive=True)
    assert folder == tmp_path / "drive" / "MyDrive" / "gpt-from-scratch" / "runs" / "workshop" and folder.is_dir()
    assert runs.run_dir("workshop", use_drive=True) == folder  # re-running the cell does not mount again
    assert mounts == [str(tmp_path / "drive")]


def test_drive_mount_refused_is_explained(monkeypatch, tmp_path):
    def mount(mount_point):
        raise ValueError("mount failed")  # what google.runs.drive raises when access is not granted

    fake_colab(monkeypatch, tmp_path, mount)
    with pytest.raises(
        WorkshopError, match=r"Could not mount Google Drive \(ValueError: mount failed\)\. Fix: run the cell again"
    ):
        runs.run_dir("workshop", use_drive=True)


def test_resume_or_start_starts_fresh_then_picks_up_where_it_stopped(tmp_path, capsys):
    (tmp_path / "metrics.jsonl").write_text('{"step": 99}\n')  # a stale log from an older run
    first = runs.resume_or_start(tiny_trainer(tmp_path, max_iters=8))
    assert "Starting fresh: no checkpoint in" in capsys.readouterr().out
    assert not (tmp_path / "metrics.jsonl").exists()
    first.cfg.max_iters = 4  # a disconnect after the step-4 checkpoint
    first.fit()

    second = runs.resume_or_start(tiny_trainer(tmp_path, max_iters=8))
    assert f"Resuming from {tmp_path / LAST} at step 4 of 8" in capsys.readouterr().out
    assert second.step == 4
    assert [r["step"] for r in second.fit()] == [0, 2, 4, 6, 8]


def test_resume_or_start_after_an_interrupt_matches_an_uninterrupted_run(tmp_path):
    """Stopping a cell (or a disconnect right after a checkpoint), then re-running it in a fresh runtime,
    gives the very losses and weights of a run that was never stopped (dropout on: the RNG is restored too)."""
    full = tiny_trainer(tmp_path / "full", max_iters=8, dropout=0.1)
    full_history = full.fit()

    class InterruptAfterStep4(Callback):
        def on_eval(self, trainer, record):
            if record["step"] == 4:
                raise KeyboardInterrupt  # what ■ Stop in a notebook raises

    cut = tiny_trainer(tmp_path / "cut", max_iters=8, dropout=0.1)
    cut.callbacks.append(InterruptAfterStep4())
    cut.fit()
    assert cut.step == 4 and cut.stopped_because == "interrupted at step 4"
    torch.manual_seed(12345)  # a new Colab runtime: another random state
    resumed = runs.resume_or_start(tiny_trainer(tmp_path / "cut", max_iters=8, dropout=0.1))
    strip = lambda h: [(r["step"], r["train_loss"], r["val_loss"]) for r in h]
    assert strip(resumed.fit()) == strip(full_history)
    for a, b in zip(full.model.parameters(), resumed.model.parameters()):
        assert torch.equal(a, b)


def test_resume_or_start_needs_a_run_folder():
    with pytest.raises(WorkshopError, match=r"needs a run folder to look in\. Fix: TrainConfig\(out_dir="):
        runs.resume_or_start(tiny_trainer(None))
