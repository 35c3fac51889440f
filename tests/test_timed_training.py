"""The time-budget training loop of notebooks 13 and 14: budgets, evaluation points, schedule, errors."""

from __future__ import annotations

import gc
import itertools

import pytest
import torch

from helpers import WorkshopError, timed_training
from helpers.schedule import lr_at_fraction
from helpers.timed_training import schedule_config, train_for


def tiny_problem():
    """A linear model that can fit y = 3x - 1 exactly, and its loss on a fresh batch."""
    torch.manual_seed(0)
    model = torch.nn.Linear(1, 1)

    def batch_loss():
        x = torch.randn(32, 1)
        return torch.nn.functional.mse_loss(model(x), 3 * x - 1)

    return model, batch_loss


def test_a_budget_in_steps_runs_exactly_that_many_and_learns():
    model, batch_loss = tiny_problem()
    calls = []
    history = train_for(
        model, batch_loss, steps=300, learning_rate=0.1, evaluate=lambda: {"n": len(calls)}, eval_every=100,
        on_eval=calls.append,
    )  # fmt: skip
    assert [r["step"] for r in history] == [0, 100, 200, 300] and calls == history
    assert history[-1]["loss"] < 0.01 * history[1]["loss"]  # it learned
    assert abs(model.weight.item() - 3) < 0.05 and abs(model.bias.item() + 1) < 0.05


def test_a_budget_in_seconds_counts_training_time_only(monkeypatch):
    """A fake clock that moves one second per reading: each step costs one second, evaluations none."""
    clock = itertools.count()
    monkeypatch.setattr(timed_training.time, "perf_counter", lambda: float(next(clock)))
    model, batch_loss = tiny_problem()
    history = train_for(model, batch_loss, seconds=5, evaluate=lambda: {}, eval_every=2)
    assert [(r["seconds"], r["step"]) for r in history] == [(0, 0), (2, 2), (4, 4), (5, 5)]


def test_the_learning_rate_warms_up_then_decays_over_the_budget():
    cfg = schedule_config(1e-2, warmup=0.1, min_lr_ratio=0.1)
    lrs = [lr_at_fraction(p / 100, cfg) for p in range(101)]
    assert lrs[0] < 1e-3 and max(lrs) == pytest.approx(1e-2)
    assert lrs.index(max(lrs)) in (9, 10)
    peak = lrs.index(max(lrs))
    assert all(a >= b for a, b in zip(lrs[peak:], lrs[peak + 1 :]))  # never rises after the peak
    assert lrs[-1] == pytest.approx(1e-3)


@pytest.mark.parametrize(
    "budget, problem",
    [({}, "seconds=... or as steps"), ({"seconds": 1, "steps": 1}, "not both"), ({"steps": 0}, "> 0")],
)
def test_a_bad_budget_gets_a_clear_message(budget, problem):
    model, batch_loss = tiny_problem()
    with pytest.raises(WorkshopError, match=problem):
        train_for(model, batch_loss, **budget)


def test_a_diverging_loss_stops_with_a_clear_message():
    model, _ = tiny_problem()
    with pytest.raises(WorkshopError, match="diverged"):
        train_for(model, lambda: model(torch.ones(1, 1)).sum() * float("nan"), steps=3)


@pytest.mark.parametrize("warmup", [-0.1, 0.6])
def test_a_warmup_outside_the_budget_gets_a_clear_message(warmup):
    with pytest.raises(WorkshopError, match="share of the budget"):
        schedule_config(1e-2, warmup=warmup)


def live_tensors() -> int:
    return sum(1 for o in gc.get_objects() if issubclass(type(o), torch.Tensor))


def test_nothing_is_kept_per_step():
    """The losses between two records used to be kept as one tensor per step: the process's memory grew with
    the run's length (~0.5 MB a step on the ablation benchmark, benchmarks/RESULTS.md). Now the number of live
    tensors is the same after 20 steps as after 120."""
    model, loss = tiny_problem()
    calls, counts, seen = itertools.count(1), {}, []

    def batch_loss():
        call = next(calls)
        if call in (20, 120):
            counts[call] = live_tensors()
        value = loss()
        seen.append(value.item())
        return value

    history = train_for(model, batch_loss, steps=150, learning_rate=0.1)
    assert counts[120] == counts[20]
    assert history[-1]["step"] == 150 and history[-1]["loss"] == pytest.approx(sum(seen) / 150)  # the mean of all
