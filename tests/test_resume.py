"""Resuming from last.safetensors continues exactly where an uninterrupted run would be (on CPU)."""

import torch
from test_trainer import smoke_trainer

from helpers import Callback


class InterruptAt(Callback):
    """Simulates a Colab disconnect right after the checkpoint at `step` was written."""

    def __init__(self, step):
        self.step = step

    def on_eval(self, trainer, record):
        if record["step"] == self.step:
            raise KeyboardInterrupt


def test_resumed_run_matches_uninterrupted_run(corpus, tmp_path):
    full = smoke_trainer(corpus, tmp_path / "full", max_iters=60)
    full_history = full.fit()

    first = smoke_trainer(corpus, tmp_path / "cut", max_iters=60)
    first.callbacks.append(InterruptAt(20))
    first.fit()
    assert first.step == 20 and "interrupted" in first.stopped_because

    torch.manual_seed(999)  # a fresh process would have a different RNG state: resume must restore it
    resumed = smoke_trainer(corpus, tmp_path / "cut", max_iters=60).resume()
    assert resumed.step == 20
    resumed_history = resumed.fit()

    strip = lambda h: [(r["step"], r["train_loss"], r["val_loss"]) for r in h]
    assert strip(resumed_history) == strip(full_history)
    for a, b in zip(full.model.parameters(), resumed.model.parameters()):
        assert torch.equal(a, b)
