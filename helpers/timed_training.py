"""Train any model for a fixed number of seconds, evaluating at fixed points of training time.

Notebooks 13 and 14 compare set-ups *at the same training time*: each run gets the same wall-clock
budget, the clock counts optimisation steps only (evaluations pause it), and the learning rate follows
warm-up + cosine over the budget rather than over a number of steps. The caller supplies the batches
and the loss as one function (`batch_loss()`), so the loop knows nothing about text, sums or images.
It reuses the trainer's AdamW (weight decay on matrices only) and helpers.schedule's warm-up + cosine
laid over the share of the budget spent (`lr_at_fraction`, as `python -m helpers.train --minutes` does);
it does not write checkpoints or plot (the notebooks plot what it returns).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch

from .device import autocast, precision_for
from .errors import WorkshopError, require
from .schedule import lr_at_fraction
from .trainer import TrainConfig, make_optimizer


def training_precision(device: str) -> str:
    """bf16 on GPUs with fast bf16, else fp32. Models this small gain nothing from bf16 on a CPU (the
    casts cost more than the narrower matmuls save: benchmarks/RESULTS.md), and need no fp16 scaler."""
    return "bf16" if device == "cuda" and precision_for(device) == "bf16" else "fp32"


def wait_for(device: str) -> None:
    """Block until the device has finished its queued work, so that timings are honest."""
    if device == "cuda":
        torch.cuda.synchronize()
    elif device == "mps":
        torch.mps.synchronize()


def schedule_config(
    learning_rate: float,
    warmup: float = 0.05,
    min_lr_ratio: float = 0.1,
    weight_decay: float = 0.1,
    optimizer: str = "adamw",
):
    """A TrainConfig for `lr_at_fraction`: warm-up over the share `warmup` of the budget, then cosine to the floor."""
    require(0 <= warmup <= 0.5, f"warmup is a share of the budget between 0 and 0.5, not {warmup}.")
    return TrainConfig(
        learning_rate=learning_rate,
        min_lr=learning_rate * min_lr_ratio,
        warmup_fraction=warmup,
        weight_decay=weight_decay,
        optimizer=optimizer,
        progress=False,
    )


def train_for(
    model: torch.nn.Module,
    batch_loss: Callable[[], torch.Tensor],
    seconds: float | None = None,
    steps: int | None = None,
    learning_rate: float = 3e-3,
    evaluate: Callable[[], dict] | None = None,
    eval_every: float | None = None,
    warmup: float = 0.05,
    min_lr_ratio: float = 0.1,
    device: str = "cpu",
    grad_clip: float = 1.0,
    on_eval: Callable[[dict], None] | None = None,
    optimizer: str = "adamw",
    clock: Callable[[], float] | None = None,
) -> list[dict]:
    """Train `model` on `batch_loss()` for `seconds` of training time (or for `steps` steps); return
    the evaluation records.

    Each record holds `seconds` (training time so far), `step`, `loss` (mean training loss since the
    last record), `lr`, and whatever `evaluate()` returns. `evaluate` runs at the start, every
    `eval_every` seconds (or steps) of training and at the end; its own time is not counted.
    `optimizer`: "adamw", or "muon" for the blocks' matrices (helpers/optimizers.py). `clock`: what a second
    is (default time.perf_counter); time.process_time counts only this process's CPU time, so that a busy
    shared machine cannot shorten a run.
    A budget in steps gives the same run on any machine, however busy; one in seconds gives each
    set-up the same time, however much each step costs.
    """
    require((seconds is None) != (steps is None), "Give the budget as seconds=... or as steps=..., not both.")
    require((seconds or steps) > 0, f"The budget must be > 0, not {seconds or steps}.")
    require(eval_every is None or eval_every > 0, f"eval_every must be > 0, not {eval_every}.")
    clock = clock or time.perf_counter
    progress = (lambda: trained / seconds) if seconds is not None else (lambda: step / steps)
    cfg = schedule_config(learning_rate, warmup, min_lr_ratio, optimizer=optimizer)
    opt = make_optimizer(model, cfg, device)  # `optimizer` is the name of the kind (cfg.optimizer)
    precision = training_precision(device)
    history: list[dict] = []
    trained, step, next_eval = 0.0, 0, 0.0
    # The training loss since the last record, summed in place: a tensor kept per step (a list of them) grew
    # by one small allocation a step that pinned the heap, and the process's memory grew with the run's
    # length (benchmarks/RESULTS.md, "Memory over a run's length").
    loss_sum, losses = torch.zeros((), device=device), 0

    def record():
        nonlocal losses
        model.eval()
        with torch.no_grad():
            extra = evaluate() if evaluate is not None else {}
        model.train()
        mean_loss = (loss_sum / losses).item() if losses else float("nan")  # nan: no step yet
        if losses and not math.isfinite(mean_loss):
            raise WorkshopError(
                f"Training diverged: the loss at step {step} is {mean_loss}. "
                f"Fix: lower learning_rate (now {learning_rate}; try half)."
            )
        loss_sum.zero_()
        losses = 0
        entry = {"seconds": trained, "step": step, "loss": mean_loss, "lr": lr_at_fraction(progress(), cfg)}
        entry.update(extra)
        history.append(entry)
        if on_eval is not None:
            on_eval(entry)

    model.train()
    while progress() < 1:
        if eval_every is not None and (trained if steps is None else step) >= next_eval:
            record()
            next_eval += eval_every
        start = clock()
        lr = lr_at_fraction(progress(), cfg)
        for group in opt.param_groups:
            group["lr"] = lr
        with autocast(device, precision):
            loss = batch_loss()
        loss.backward()
        if grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
        loss_sum.add_(loss.detach().float())
        losses += 1
        step += 1
        wait_for(device)  # a GPU runs behind Python: count the step when it is done
        trained += clock() - start
    record()
    return history
