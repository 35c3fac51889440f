"""Things that do not fit together get a clear refusal or a working fallback, never a raw error: a model
and a corpus with different vocabularies, a checkpoint resumed on another kind of device than it was
written on, and a torch.compile that raises when it is called. No corpus or GPU needed.
"""

from __future__ import annotations

import pytest
import torch
from test_checkpoint import TEXT, tiny_trainer

from helpers import GPT, Corpus, GPTConfig, TrainConfig, Trainer, WorkshopError, load_checkpoint, sample_text
from helpers.checkpoint import LAST, save_checkpoint
from helpers.trainer import check_vocabularies_match

SETTINGS = dict(batch_size=4, max_iters=2, eval_interval=2, eval_iters=1, progress=False, device="cpu")


def tiny_gpt(vocab_size: int) -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=16, dropout=0.0))


# ---- vocabularies ------------------------------------------------------------------------------


def test_the_same_text_with_windows_line_ends_is_named_not_an_index_error():
    unix, windows = Corpus.load(text=TEXT), Corpus.load(text=TEXT.replace("\n", "\r\n"))
    assert windows.tokenizer.vocab_size == unix.tokenizer.vocab_size + 1
    model = tiny_gpt(unix.tokenizer.vocab_size)  # built for the text with \n line ends
    with pytest.raises(WorkshopError) as refused:
        Trainer(model, windows, TrainConfig(**SETTINGS))
    message = str(refused.value)
    assert message.startswith(
        f"The model's vocabulary has {unix.tokenizer.vocab_size} tokens, but the corpus has "
        f"{windows.tokenizer.vocab_size} characters (one is '\\r': the text has Windows line ends"
    )
    assert "Fix: build the model for this corpus, GPTConfig(vocab_size=corpus.tokenizer.vocab_size" in message
    assert "save the text with Unix line ends" in message


def test_a_model_with_a_larger_vocabulary_is_refused_too():
    """No IndexError there, but its checkpoint would hold fewer characters than the model can emit."""
    corpus = Corpus.load(text=TEXT)
    with pytest.raises(WorkshopError, match=r"vocabulary has \d+ tokens, but the corpus has \d+ characters\. Fix"):
        check_vocabularies_match(tiny_gpt(corpus.tokenizer.vocab_size + 3), corpus)


def test_matching_vocabularies_train():
    corpus = Corpus.load(text=TEXT)
    Trainer(tiny_gpt(corpus.tokenizer.vocab_size), corpus, TrainConfig(**SETTINGS)).fit()


def test_sampling_with_the_tokenizer_of_another_text_is_named():
    model = tiny_gpt(Corpus.load(text=TEXT).tokenizer.vocab_size)
    other = Corpus.load(text=TEXT + "§¶").tokenizer  # 2 characters more: their ids do not exist in the model
    with pytest.raises(WorkshopError, match=r"The tokenizer knows \d+ characters but the model's vocabulary has"):
        sample_text(model, other, "To be", 5)


# ---- a checkpoint from another kind of device ----------------------------------------------------

# What a CUDA run writes: torch.cuda.get_rng_state() and a CUDA generator's get_state() are 16 bytes
# (Philox seed and offset), a CPU generator's 5,056 (Mersenne Twister).
CUDA_GENERATOR_STATE = torch.tensor([42, 0, 0, 0, 0, 0, 0, 0, 96, 0, 0, 0, 0, 0, 0, 0], dtype=torch.uint8)


def rewrite_as_written_on_cuda(path, record_device: bool) -> None:
    """Rewrite a CPU run's checkpoint with the random state a CUDA run would have saved."""
    state = load_checkpoint(path)
    trainer = tiny_trainer()
    trainer.model.load_state_dict(state.model_state)
    trainer.optimizer.load_state_dict(state.optimizer_state)
    training = dict(state.training)
    if record_device:
        training["device"] = "cuda"
    else:  # a checkpoint written before the device was recorded
        training.pop("device", None)
    rng = {"torch": state.rng["torch"], "batch": CUDA_GENERATOR_STATE, "cuda": CUDA_GENERATOR_STATE.clone()}
    save_checkpoint(path, trainer.model, trainer.corpus.tokenizer, trainer.optimizer, None, training, rng)


@pytest.mark.parametrize("record_device", [True, False], ids=["device recorded", "older checkpoint"])
def test_a_cuda_checkpoint_resumes_on_the_cpu(tmp_path, capsys, record_device):
    tiny_trainer(tmp_path, max_iters=4).fit()
    rewrite_as_written_on_cuda(tmp_path / LAST, record_device)
    resumed = tiny_trainer(tmp_path, max_iters=8).resume()
    out = capsys.readouterr().out
    where = "cuda" if record_device else "another device"
    assert f"was trained on {where} and resumes on cpu: the random batches continue from a fresh seed" in out
    assert resumed.step == 4
    history = resumed.fit()
    assert [r["step"] for r in history] == [0, 2, 4, 6, 8]
    assert history[-1]["val_loss"] < history[0]["val_loss"]


def test_a_checkpoint_records_the_device_it_was_written_on(tmp_path):
    tiny_trainer(tmp_path, max_iters=2).fit()
    assert load_checkpoint(tmp_path / LAST).training["device"] == "cpu"


def test_resuming_on_the_same_device_is_still_exact(tmp_path, capsys):
    """The fallback must not fire on a same-device resume (test_resume.py proves bit-exactness)."""
    tiny_trainer(tmp_path, max_iters=4).fit()
    tiny_trainer(tmp_path, max_iters=8).resume()
    assert "fresh seed" not in capsys.readouterr().out


# ---- torch.compile raising when called -----------------------------------------------------------


def test_torch_compile_raising_when_called_falls_back_to_eager(monkeypatch):
    """Some releases raise at torch.compile(model) itself (e.g. on a Python version Dynamo does not support)."""

    def compile_refuses(model, *args, **kwargs):
        raise RuntimeError("Dynamo is not supported on Python 3.99+")

    monkeypatch.setattr("helpers.trainer.compile_supported", lambda device: (True, ""))
    monkeypatch.setattr(torch, "compile", compile_refuses)
    with pytest.warns(UserWarning, match=r"torch.compile failed \(RuntimeError: Dynamo is not supported.*eager mode"):
        trainer = tiny_trainer(compile=True, max_iters=2)
    assert trainer._forward is trainer.model
    history = trainer.fit()
    assert len(history) == 2
