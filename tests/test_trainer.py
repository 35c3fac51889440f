import json
import math

import pytest
import torch

import helpers.checkpoint
from helpers import GPT, Corpus, GPTConfig, TrainConfig, Trainer, WorkshopError, lr_at
from helpers.checkpoint import load_checkpoint, load_model
from helpers.trainer import make_optimizer


def test_lr_schedule_warmup_peak_and_floor():
    cfg = TrainConfig(max_iters=1000, learning_rate=1e-3, min_lr=1e-4, warmup_iters=100)
    warmup = [lr_at(s, cfg) for s in range(100)]
    assert warmup == sorted(warmup) and warmup[0] < 2e-5
    assert lr_at(100, cfg) == pytest.approx(1e-3)  # the peak, at the end of warm-up
    decay = [lr_at(s, cfg) for s in range(100, 1001)]
    assert decay == sorted(decay, reverse=True)
    assert lr_at(550, cfg) == pytest.approx((1e-3 + 1e-4) / 2)  # cosine: half-way at the middle
    assert lr_at(1000, cfg) == pytest.approx(1e-4) and lr_at(5000, cfg) == pytest.approx(1e-4)


def test_weight_decay_only_on_matrices(tiny_model):
    opt = make_optimizer(tiny_model, TrainConfig(weight_decay=0.1), "cpu")
    decayed, plain = opt.param_groups
    assert decayed["weight_decay"] == 0.1 and all(p.dim() >= 2 for p in decayed["params"])
    assert plain["weight_decay"] == 0.0 and all(p.dim() == 1 for p in plain["params"])
    assert len(decayed["params"]) + len(plain["params"]) == len(list(tiny_model.parameters()))


def smoke_trainer(corpus, out_dir=None, max_iters=40, **overrides):
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=65, block_size=32, n_layer=2, n_head=2, n_embd=48, dropout=0.1))
    cfg = TrainConfig(
        batch_size=16,
        max_iters=max_iters,
        learning_rate=3e-3,
        min_lr=3e-4,
        warmup_iters=5,
        eval_interval=20,
        eval_iters=4,
        out_dir=str(out_dir) if out_dir else None,
        progress=False,
        **overrides,
    )
    return Trainer(model, corpus, cfg)


def test_training_lowers_the_loss_and_keeps_history(corpus):
    trainer = smoke_trainer(corpus, max_iters=60)
    history = trainer.fit()
    assert [r["step"] for r in history] == [0, 20, 40, 60]
    assert history[0]["val_loss"] == pytest.approx(math.log(65), abs=0.15)
    assert history[-1]["val_loss"] < history[0]["val_loss"] - 0.8
    assert history[-1]["tokens_per_s"] > 0
    assert trainer.stopped_because == "max_iters reached"


def test_best_and_last_checkpoints_and_metrics(corpus, tmp_path):
    trainer = smoke_trainer(corpus, tmp_path)
    history = trainer.fit()
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert lines == history
    best = load_checkpoint(tmp_path / "best.safetensors")
    assert best.training["best_val_loss"] == pytest.approx(min(r["val_loss"] for r in history))
    assert load_checkpoint(tmp_path / "last.safetensors").training["step"] == 40


def test_checkpoint_round_trip_reproduces_logits(corpus, tmp_path):
    trainer = smoke_trainer(corpus, max_iters=10)
    trainer.fit()
    trainer.save(tmp_path / "ckpt.safetensors")
    model, tokenizer = load_model(tmp_path / "ckpt.safetensors")
    trainer.model.eval()
    idx = torch.tensor([tokenizer.encode("ROMEO: hark")])
    assert torch.equal(model(idx)[0], trainer.model(idx)[0])
    assert tokenizer.chars == corpus.tokenizer.chars


def test_max_minutes_caps_a_run_of_steps_with_a_final_eval(corpus):
    trainer = smoke_trainer(corpus, max_iters=100_000, max_minutes=0.02)
    history = trainer.fit()
    assert trainer.stopped_because == "time budget spent"
    assert history[-1]["step"] == trainer.step < 100_000


def test_max_minutes_and_a_budget_together_are_refused():
    with pytest.raises(WorkshopError, match="max_minutes .* and budget_minutes .* both limit the time"):
        TrainConfig(max_minutes=1, budget_minutes=5)


def test_callbacks_see_every_eval_and_step(corpus):
    from helpers import Callback

    class Recorder(Callback):
        def __init__(self):
            self.events = []

        def on_train_start(self, trainer):
            self.events.append("start")

        def on_step(self, trainer, step):
            self.events.append(("step", step))

        def on_eval(self, trainer, record):
            self.events.append(("eval", record["step"]))

        def on_train_end(self, trainer):
            self.events.append("end")

    trainer = smoke_trainer(corpus, max_iters=20)
    rec = Recorder()
    trainer.callbacks.append(rec)
    trainer.fit()
    assert rec.events[0] == "start" and rec.events[-1] == "end"
    assert [e for e in rec.events if e[0] == "eval"] == [("eval", 0), ("eval", 20)]
    assert sum(1 for e in rec.events if e[0] == "step") == 20


def test_the_trainer_moves_a_custom_split_as_it_is(corpus, monkeypatch):
    """A corpus on another device is moved with Corpus.to (which keeps its split), never re-encoded from
    corpus.text: notebook 05's 2,000-character demo must not become the whole corpus on a GPU."""
    sliver = Corpus(corpus.text, corpus.tokenizer, train=corpus.train[:2000], val=corpus.val)
    moves = []
    real_to = Corpus.to

    def to(self, device):
        moves.append(str(device))
        return real_to(self, device)

    monkeypatch.setattr(Corpus, "to", to)
    trainer = smoke_trainer(sliver)
    assert moves == ["cpu"]  # the trainer's device (on a GPU: "cuda")
    assert torch.equal(trainer.corpus.train, sliver.train) and torch.equal(trainer.corpus.val, sliver.val)


def test_a_new_best_checkpoint_is_serialised_and_hashed_once(corpus, tmp_path, monkeypatch):
    digests = []
    real_digest = helpers.checkpoint._tensor_digest

    def counting_digest(tensors):
        digests.append(1)
        return real_digest(tensors)

    monkeypatch.setattr(helpers.checkpoint, "_tensor_digest", counting_digest)
    trainer = smoke_trainer(corpus, tmp_path, max_iters=40)
    history = trainer.fit()
    assert sum(r["best"] for r in history) >= 2  # several evaluations were a new best ...
    assert len(digests) == len(history)  # ... yet each evaluation hashed its checkpoint once
    assert (tmp_path / "best.safetensors").read_bytes() == (tmp_path / "last.safetensors").read_bytes()
