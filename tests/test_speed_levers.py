"""The speed levers behave: exact full-split evaluation, the torch.compile fallback, precision choices."""

import math
import warnings

import pytest
import torch

import helpers.trainer as trainer_module
from helpers import GPT, Corpus, GPTConfig, TrainConfig, Trainer
from helpers.device import precision_for

TEXT = "ROMEO:\nBut soft, what light through yonder window breaks?\n\n" * 40


def small_trainer(corpus, **overrides):
    torch.manual_seed(0)
    model = GPT(
        GPTConfig(vocab_size=corpus.tokenizer.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=16, dropout=0.0)
    )
    settings = dict(
        batch_size=4, max_iters=6, warmup_iters=2, eval_interval=3, eval_iters=2, progress=False, compile=False
    )
    return Trainer(model, corpus, TrainConfig(**{**settings, **overrides}))


def test_full_split_loss_scores_every_val_window_once():
    corpus = Corpus.load(text=TEXT)
    trainer = small_trainer(corpus, precision="fp32")
    block, val = 16, corpus.val
    n = (len(val) - 1) // block
    model = trainer.model.eval()
    with torch.no_grad():  # one window at a time, by hand
        by_hand = [
            model(val[i * block : (i + 1) * block][None], val[i * block + 1 : (i + 1) * block + 1][None])[1]
            for i in range(n)
        ]
    expected = torch.stack(by_hand).mean().item()
    assert trainer.full_split_loss("val", windows_per_batch=3) == pytest.approx(expected, rel=1e-5)
    assert trainer.full_split_loss("val", windows_per_batch=1000) == pytest.approx(expected, rel=1e-5)
    assert model.training is False  # left as it was found


def test_val_full_split_makes_every_evaluation_exact(corpus):
    trainer = small_trainer(corpus, val_full_split=True, precision="fp32")
    first = trainer.estimate_loss()
    assert first["val"] == pytest.approx(trainer.full_split_loss("val"))
    assert first["val"] == pytest.approx(math.log(corpus.tokenizer.vocab_size), abs=0.2)  # untrained
    assert trainer.model.training  # estimate_loss hands the model back in training mode
    history = trainer.fit()
    assert [r["step"] for r in history] == [0, 3, 6]
    assert history[-1]["val_loss"] == pytest.approx(trainer.full_split_loss("val"), rel=1e-5)


def test_a_failing_compile_falls_back_to_eager(corpus, monkeypatch):
    """torch.compile breaks on some T4/Triton/Windows set-ups: training must go on in eager mode."""

    def broken_compile(model, **kwargs):
        def compiled(*args, **kw):
            raise RuntimeError("simulated Triton failure")

        return compiled

    monkeypatch.setattr(trainer_module, "compile_supported", lambda device: (True, ""))
    monkeypatch.setattr(torch, "compile", broken_compile)
    trainer = small_trainer(corpus, compile=True)
    assert trainer._forward is not trainer.model  # the (broken) compiled forward was chosen
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = trainer.fit()
    assert trainer._forward is trainer.model
    assert any("falling back to eager" in str(w.message) for w in caught)
    assert [r["step"] for r in history] == [0, 3, 6] and all(math.isfinite(r["val_loss"]) for r in history)


def test_errors_that_are_not_compile_failures_are_not_swallowed(corpus, monkeypatch):
    trainer = small_trainer(corpus)
    monkeypatch.setattr(trainer, "train_step", lambda: (_ for _ in ()).throw(ValueError("a real bug")))
    with pytest.raises(ValueError, match="a real bug"):
        trainer.fit()


def test_cpu_precision_is_bf16_only_where_the_cpu_has_bf16_instructions(monkeypatch):
    import helpers.device as device

    monkeypatch.setattr(device, "cpu_has_fast_bf16", lambda: True)
    assert precision_for("cpu") == "bf16"
    monkeypatch.setattr(device, "cpu_has_fast_bf16", lambda: False)
    assert precision_for("cpu") == "fp32"
    assert precision_for("mps") == "fp32"


def test_adamw_uses_the_fused_kernel_on_the_cpu_where_pytorch_has_it(tiny_model):
    from helpers.device import torch_version
    from helpers.trainer import make_optimizer

    optimizer = make_optimizer(tiny_model, TrainConfig(), "cpu")
    assert all(bool(g.get("fused")) == (torch_version() >= (2, 4)) for g in optimizer.param_groups)
