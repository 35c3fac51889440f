"""Checkpoints: what they hold, and that every broken, foreign or mismatched file gets a clear refusal.

No corpus needed: the runs here train a one-layer model on a short synthetic text in a second or two.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from helpers import (
    GPT,
    Corpus,
    GPTConfig,
    TrainConfig,
    Trainer,
    WorkshopError,
    load_checkpoint,
    load_model,
    save_checkpoint,
)
from helpers.checkpoint import BEST, LAST, load_weights, remove_leftover_temp_files

REPO = Path(__file__).resolve().parents[1]
TEXT = "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n" * 200


def tiny_trainer(out_dir=None, max_iters=4, n_embd=16, dropout=0.0, tokenizer=None, **overrides) -> Trainer:
    """A model small enough to train a few steps in well under a second, checkpointing every 2 steps
    (on TEXT's characters, or with `tokenizer`)."""
    torch.manual_seed(0)
    corpus = Corpus.from_tokenizer(TEXT, tokenizer) if tokenizer else Corpus.load(text=TEXT)
    config = GPTConfig(
        vocab_size=corpus.tokenizer.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=n_embd, dropout=dropout
    )
    settings = dict(
        batch_size=4,
        max_iters=max_iters,
        warmup_iters=1,
        eval_interval=2,
        eval_iters=2,
        log_interval=1,
        out_dir=str(out_dir) if out_dir else None,
        progress=False,
    )
    return Trainer(GPT(config), corpus, TrainConfig(**{**settings, **overrides}))


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run")
    tiny_trainer(out).fit()
    return out


@pytest.fixture
def last_copy(run_folder, tmp_path) -> Path:
    """A private copy of a good checkpoint, for a test to break."""
    copy = tmp_path / LAST
    copy.write_bytes((run_folder / LAST).read_bytes())
    return copy


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---- what a checkpoint holds -------------------------------------------------------------------


def test_checkpoint_holds_everything_needed_to_resume(tmp_path):
    trainer = tiny_trainer(tmp_path)
    trainer.fit()
    state = load_checkpoint(tmp_path / LAST)
    assert state.config == trainer.model.config
    assert state.tokenizer.chars == trainer.corpus.tokenizer.chars
    for name, tensor in trainer.model.state_dict().items():
        assert torch.equal(state.model_state[name], tensor), name
    optimizer_state = trainer.optimizer.state_dict()
    assert len(state.optimizer_state["state"]) == len(optimizer_state["state"])
    assert torch.equal(state.optimizer_state["state"][0]["exp_avg"], optimizer_state["state"][0]["exp_avg"])
    assert state.training["step"] == 4 and state.training["history"] == trainer.history
    assert state.training["best_val_loss"] == trainer.best_val_loss
    assert torch.equal(state.rng["torch"], torch.get_rng_state())
    assert torch.equal(state.rng["batch"], trainer.batch_rng.get_state())


def test_grad_scaler_state_survives_a_round_trip(tmp_path):
    """fp16 training (a T4) keeps a loss scale that a resume must restore, not reset to 65536."""
    trainer = tiny_trainer()
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0, growth_interval=7, enabled=True)
    save_checkpoint(tmp_path / "ckpt.safetensors", trainer.model, trainer.corpus.tokenizer, trainer.optimizer, scaler)
    restored = torch.amp.GradScaler("cpu", enabled=True)
    restored.load_state_dict(load_checkpoint(tmp_path / "ckpt.safetensors").scaler_state)
    assert restored.get_scale() == 1024.0 and restored.get_growth_interval() == 7


def test_a_successful_write_leaves_no_temporary_file(run_folder):
    assert sorted(p.name for p in run_folder.iterdir()) == [BEST, LAST, "metrics.jsonl"]


def test_missing_checkpoint_says_how_to_get_one(tmp_path):
    with pytest.raises(WorkshopError, match=r"No checkpoint at .*best\.safetensors\. Fix: train one first"):
        load_model(tmp_path)


# ---- broken and foreign files ------------------------------------------------------------------


@pytest.mark.parametrize("keep", ["4 bytes", "half the header", "half the file", "all but the last byte"])
def test_truncated_checkpoint_is_refused(last_copy, keep):
    raw = last_copy.read_bytes()
    header_end = 8 + int.from_bytes(raw[:8], "little")
    size = {
        "4 bytes": 4,
        "half the header": header_end // 2,
        "half the file": len(raw) // 2,
        "all but the last byte": len(raw) - 1,
    }[keep]
    last_copy.write_bytes(raw[:size])
    with pytest.raises(WorkshopError, match=r"is truncated.*Fix: use another checkpoint"):
        load_checkpoint(last_copy)


@pytest.mark.parametrize("where", [0.0, 0.5, 1.0])
def test_flipped_byte_in_tensor_data_is_detected(last_copy, where):
    raw = bytearray(last_copy.read_bytes())
    data_start = 8 + int.from_bytes(raw[:8], "little")
    position = data_start + int(where * (len(raw) - data_start - 1))
    raw[position] ^= 0x01  # one bit: the kind of damage a bad disk or a broken copy does
    last_copy.write_bytes(bytes(raw))
    with pytest.raises(WorkshopError, match=r"is corrupted: its tensors do not match the checksum.*Fix"):
        load_checkpoint(last_copy)


@pytest.mark.parametrize("metadata", [None, {"format": "pt"}], ids=["no metadata", "huggingface style"])
def test_foreign_safetensors_file_is_refused(tmp_path, metadata):
    foreign = tmp_path / "model.safetensors"
    save_file({"weight": torch.randn(4, 4)}, str(foreign), metadata=metadata)
    with pytest.raises(WorkshopError, match=r"is a safetensors file, but not a gpt-from-scratch checkpoint.*Fix"):
        load_model(foreign)


@pytest.mark.parametrize(
    "content", [b"", b"hello, world\n", random.Random(0).randbytes(16384)], ids=["empty", "text", "random bytes"]
)
def test_file_that_is_not_a_checkpoint_is_refused(tmp_path, content):
    path = tmp_path / "notes.safetensors"
    path.write_bytes(content)
    with pytest.raises(WorkshopError, match=r"is truncated or not a checkpoint at all.*Fix"):
        load_checkpoint(path)


class CreatesAFileWhenUnpickled:
    """A stand-in for a malicious pickle: unpickling it calls open(marker, 'w')."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("zip_format", [True, False], ids=["torch.save", "legacy torch.save"])
def test_torch_pickle_is_refused_and_never_unpickled(tmp_path, monkeypatch, zip_format):
    marker = tmp_path / "code-ran"
    evil = tmp_path / "model.pt"
    torch.save({"model": CreatesAFileWhenUnpickled(marker)}, evil, _use_new_zipfile_serialization=zip_format)
    torch.load(evil, weights_only=False)  # the payload is real: unpickling it runs code ...
    assert marker.exists()
    marker.unlink()

    def forbidden(*args, **kwargs):
        raise AssertionError("a checkpoint was unpickled")

    monkeypatch.setattr(torch, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    with pytest.raises(WorkshopError, match=r"is a PyTorch pickle \(torch\.save\).*not opened.*Fix"):
        load_model(evil)
    assert not marker.exists()  # ... and loading it as a checkpoint did not


def test_checkpoint_whose_weights_do_not_fit_its_config_is_refused(last_copy, tmp_path):
    """A file that claims one shape in its header and holds another (edited or mixed-up files)."""
    tensors = load_file(str(last_copy))
    with open(last_copy, "rb") as f:
        header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
    metadata = header["__metadata__"]
    config = json.loads(metadata["config"])
    metadata["config"] = json.dumps({**config, "block_size": config["block_size"] * 2})
    edited = tmp_path / "edited.safetensors"
    save_file(tensors, str(edited), metadata=metadata)
    with pytest.raises(WorkshopError, match=r"weights do not fit its config .*size mismatch.*Fix"):
        load_model(edited)


# ---- config mismatch ---------------------------------------------------------------------------


def test_loading_into_a_model_of_another_shape_is_refused(run_folder):
    state = load_checkpoint(run_folder / LAST)
    wider = GPT(GPTConfig(**{**state.config.to_dict(), "n_embd": 32}))
    with pytest.raises(WorkshopError, match=r"does not match this model \(n_embd: checkpoint 16 vs model 32\)\. Fix"):
        load_weights(wider, state)


def test_resuming_with_another_model_shape_is_refused(run_folder, tmp_path):
    for name in (LAST, BEST):
        (tmp_path / name).write_bytes((run_folder / name).read_bytes())
    with pytest.raises(
        WorkshopError, match=r"n_embd: checkpoint 16 vs model 32.*Fix: resume with the settings the run"
    ):
        tiny_trainer(tmp_path, n_embd=32).resume()


def test_resuming_with_nothing_to_resume_says_so(tmp_path):
    with pytest.raises(
        WorkshopError, match=r"Nothing to resume: no checkpoint at .*last\.safetensors\. Fix: start without"
    ):
        tiny_trainer(tmp_path).resume()


# ---- a kill in the middle of a write -----------------------------------------------------------

KILLED_MID_WRITE = r"""
import hashlib, os, sys, time
from pathlib import Path

import helpers.checkpoint as ckpt
from helpers import Callback

sys.path.insert(0, "tests")
from test_checkpoint import tiny_trainer

out = Path(sys.argv[1])


def announce(name, text):  # atomically, so the test never reads half a note
    (out / f"{name}.part").write_text(text)
    os.replace(out / f"{name}.part", out / name)


class StopsHalfWay:
    '''The checkpoint's temporary file: writes half the bytes, says so, then hangs until killed.'''

    def __init__(self, f):
        self.f = f

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self.f.__exit__(*exc)

    def __getattr__(self, name):
        return getattr(self.f, name)

    def write(self, payload):
        self.f.write(payload[: len(payload) // 2])
        self.f.flush()
        announce("writing", f"{self.f.name}\n{len(payload) // 2}")
        time.sleep(300)


class HangAtTheNextWrite(Callback):
    def on_eval(self, trainer, record):
        if record["step"] == 2:  # step 2's checkpoints are on disk: remember them, then break the next write
            announce("saved", hashlib.sha256((out / ckpt.LAST).read_bytes()).hexdigest())
            ckpt.open = lambda *args, **kwargs: StopsHalfWay(open(*args, **kwargs))


trainer = tiny_trainer(out, max_iters=4)
trainer.callbacks.append(HangAtTheNextWrite())
trainer.fit()
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX-only")
def test_sigkill_during_a_checkpoint_write_leaves_the_previous_checkpoint_whole(tmp_path):
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_MID_WRITE, str(tmp_path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    try:
        while not (tmp_path / "writing").exists():
            assert child.poll() is None, f"the training process ended early:\n{child.communicate()[1]}"
            assert time.monotonic() < deadline, "the training process never reached its second checkpoint"
            time.sleep(0.05)
        tmp_name, half = (tmp_path / "writing").read_text().splitlines()
        partial = Path(tmp_name)
        assert partial.parent == tmp_path and partial.name.startswith(".") and partial.name.endswith(".tmp")
        assert partial.stat().st_size == int(half) > 0  # killed with the new checkpoint half on disk
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL

    last = tmp_path / LAST
    assert sha256(last) == (tmp_path / "saved").read_text()  # byte for byte the step-2 checkpoint
    state = load_checkpoint(last)
    assert state.training["step"] == 2
    assert all(torch.isfinite(t).all() for t in state.model_state.values())
    model, tokenizer = load_model(tmp_path)  # best.safetensors is whole too
    assert tokenizer.chars == state.tokenizer.chars

    resumed = tiny_trainer(tmp_path, max_iters=4).resume()  # what a re-run after the disconnect does
    assert resumed.step == 2
    assert not partial.exists()  # the half-written temporary file is cleared on resume
    resumed.fit()
    assert load_checkpoint(last).training["step"] == 4


def test_remove_leftover_temp_files_keeps_checkpoints(tmp_path):
    for name in (BEST, LAST, f".{LAST}.123.tmp", f".{BEST}.456.tmp", "metrics.jsonl"):
        (tmp_path / name).write_bytes(b"x")
    removed = remove_leftover_temp_files(tmp_path)
    assert sorted(p.name for p in removed) == [f".{BEST}.456.tmp", f".{LAST}.123.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [BEST, LAST, "metrics.jsonl"]
