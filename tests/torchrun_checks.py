"""Run by tests/test_distributed.py under torchrun (2 gloo processes): in one process group,

1. the rows each rank takes of a global batch (rank r: rows r, r+2, ... of the one-process draw);
2. the run's clock is rank 0's on every rank: a time cap (max_minutes) and a time budget
   (budget_minutes) read on clocks that disagree (rank 1's would say the time is spent at once) still
   end every rank at the same step, a budget with the learning rate at its floor;
3. an unbroken run with dropout and gradient accumulation, and the same run cut at step 20 and resumed
   by a new Trainer: the resumed run must continue exactly (history and weights, on every rank).

Rank 0 writes what it saw to OUT/results.json.
"""

import json
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist

from helpers import GPT, Callback, Corpus, GPTConfig, TrainConfig, Trainer, distributed


class InterruptAt(Callback):
    """A disconnect right after the checkpoint of `step` was written (on every rank: callbacks run on all)."""

    def __init__(self, step):
        self.step = step

    def on_eval(self, trainer, record):
        if record["step"] == self.step:
            raise KeyboardInterrupt


def make_trainer(corpus, folder, clock=None, **settings):
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=65, block_size=32, n_layer=2, n_head=2, n_embd=32, dropout=0.1))
    settings = (
        dict(
            batch_size=8,
            grad_accum_steps=2,
            max_iters=30,
            learning_rate=3e-3,
            min_lr=3e-4,
            warmup_iters=5,
            eval_interval=10,
            eval_iters=2,
            device="cpu",
            precision="fp32",
            out_dir=str(folder),
            progress=False,
        )
        | settings
    )
    cfg = TrainConfig(**settings)
    return Trainer(model, corpus, cfg, clock=clock)


def on_every_rank(flag: bool) -> bool:
    held = torch.tensor([float(flag)])
    dist.all_reduce(held, op=dist.ReduceOp.MIN)
    return bool(held)


def same_on_every_rank(value: float) -> bool:
    low, high = torch.tensor([float(value)]), torch.tensor([float(value)])
    dist.all_reduce(low, op=dist.ReduceOp.MIN)
    dist.all_reduce(high, op=dist.ReduceOp.MAX)
    return bool(low == high)


def main(out: Path) -> None:
    launch = distributed.init("cpu")
    corpus = Corpus.load()
    results = {"world_size": launch.world_size}

    trainer = make_trainer(corpus, out / "rows")
    x, _ = trainer._batch("train", corpus.generator(7))
    everyone = [torch.zeros_like(x) for _ in range(launch.world_size)]
    dist.all_gather(everyone, x)
    whole, _ = corpus.batch("train", 8, 32, corpus.generator(7))  # what one process draws
    results["rows_are_strided"] = all(torch.equal(part, whole[r::2]) for r, part in enumerate(everyone))
    results["ranks_differ"] = not torch.equal(everyone[0], everyone[1])

    speed = 1 if launch.is_main else 100_000  # rank 1's own clock would spend the 30 minutes in 18 ms
    own_clock = lambda: speed * time.perf_counter()
    budgeted = make_trainer(corpus, out / "clock", clock=own_clock, max_iters=6, max_minutes=30)
    budgeted.fit()
    results["clock_agreed"] = on_every_rank(budgeted.step == 6 and budgeted.stopped_because == "max_iters reached")
    on_the_clock = make_trainer(corpus, out / "budget", clock=own_clock, budget_minutes=0.02)  # 1.2 s on rank 0's
    on_the_clock.fit()
    last = on_the_clock.history[-1]
    results["budget_agreed"] = same_on_every_rank(on_the_clock.step) and on_every_rank(
        on_the_clock.stopped_because == "time budget spent" and last["step"] > 1 and last["lr"] == 3e-4
    )

    unbroken = make_trainer(corpus, out / "unbroken")
    unbroken.fit()
    cut = make_trainer(corpus, out / "cut")
    cut.callbacks.append(InterruptAt(20))
    cut.fit()
    torch.manual_seed(999 + launch.rank)  # a new process would start from another random state
    resumed = make_trainer(corpus, out / "cut").resume()
    resumed.fit()

    strip = lambda history: [(r["step"], r["train_loss"], r["val_loss"]) for r in history]
    same_history = strip(resumed.history) == strip(unbroken.history)
    same_weights = all(torch.equal(a, b) for a, b in zip(unbroken.model.parameters(), resumed.model.parameters()))
    results.update(
        cut_at=cut.step,
        same_history_all_ranks=on_every_rank(same_history),
        same_weights_all_ranks=on_every_rank(same_weights),
        history=strip(resumed.history),
    )
    if launch.is_main:
        (out / "results.json").write_text(json.dumps(results))
    distributed.teardown()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
