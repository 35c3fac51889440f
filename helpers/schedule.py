"""The learning-rate schedule: linear warm-up to a peak, then half a cosine down to a floor.

A run is measured in steps (`max_iters`) or in wall-clock time (`budget_minutes`); the same shape is
laid over either: `lr_at(step, cfg)` for a run of steps, `lr_at_fraction(f, cfg)` for the fraction `f`
of a time budget spent. Both rise to the peak, never rise again, and end on the floor.

`Rewarm` is how a run that is resumed with a new schedule (a finished run given more steps or more
minutes) carries on: instead of jumping from the rate it stopped at to the new schedule's rate, it
climbs a short ramp from where it was until it meets the new schedule, then follows it to the floor.

This module knows rates, steps and fractions only: not optimizers, models or clocks (the trainer
reads its clock and passes the fraction spent). TrainConfig checks the settings it is given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# TrainConfig fields that define a run's schedule (a resume that changes one of them re-warms):
# for every run, for a run of steps, for a time budget.
RATE_FIELDS = ("learning_rate", "min_lr", "budget_minutes")
STEP_FIELDS = ("max_iters", "lr_decay_iters", "warmup_iters")
BUDGET_FIELDS = ("warmup_fraction",)


def cosine(progress: float, peak: float, floor: float) -> float:
    """Half a cosine from `peak` (progress 0) to `floor` (progress 1)."""
    progress = min(max(progress, 0.0), 1.0)
    return floor + 0.5 * (1.0 + math.cos(math.pi * progress)) * (peak - floor)


def decay_steps(cfg) -> int:
    """The step at which the rate reaches its floor (then stays there): lr_decay_iters, else max_iters."""
    return cfg.lr_decay_iters or cfg.max_iters


def warmup_steps(cfg) -> int:
    """The warm-up actually used: `warmup_iters`, but never more than half the decay, so that it fits."""
    return min(cfg.warmup_iters, decay_steps(cfg) // 2)


def lr_at(step: int, cfg) -> float:
    """Linear warm-up to the peak, cosine decay to `min_lr` at the decay step, then flat (a run of steps)."""
    warmup, decay = warmup_steps(cfg), decay_steps(cfg)
    if step < warmup:
        return cfg.learning_rate * (step + 1) / warmup
    if step >= decay:
        return cfg.min_lr
    return cosine((step - warmup) / max(1, decay - warmup), cfg.learning_rate, cfg.min_lr)


def lr_at_fraction(fraction: float, cfg) -> float:
    """The same shape over a time budget: `fraction` of it spent (0 → 1), warm-up over `warmup_fraction`."""
    warmup = cfg.warmup_fraction
    if fraction < warmup:
        return cfg.learning_rate * max(fraction, 0.0) / warmup
    if fraction >= 1.0:
        return cfg.min_lr
    return cosine((fraction - warmup) / (1.0 - warmup), cfg.learning_rate, cfg.min_lr)


@dataclass(frozen=True)
class Rewarm:
    """A ramp from `from_lr`, starting where a resumed run changed its schedule (at `step`, or `fraction`
    of a budget), rising to the peak over one warm-up; the rate is the lower of the ramp and the schedule.

    Extending a finished run (at its floor) with more steps therefore climbs gently back onto the
    longer run's schedule instead of jumping to the middle of its cosine, and then decays with it.
    """

    step: int
    fraction: float
    from_lr: float
    height: float = 1.0  # the share of the schedule's height above the floor kept after the resume

    def cap(self, lr: float, cfg, step: int, fraction: float | None = None) -> float:
        peak = cfg.learning_rate
        lr = cfg.min_lr + self.height * (lr - cfg.min_lr)
        if fraction is None:  # a run of steps: the ramp takes one warm-up, at most half of what is left
            length = max(1, min(cfg.warmup_iters, (decay_steps(cfg) - self.step) // 2))
            climbed = (step - self.step + 1) / length
        else:
            length = cfg.warmup_fraction * max(1e-9, 1.0 - self.fraction)
            climbed = (fraction - self.fraction) / length
        ramp = self.from_lr + (peak - self.from_lr) * min(max(climbed, 0.0), 1.0)
        return min(lr, max(ramp, self.from_lr))

    def as_dict(self) -> dict:
        return {"step": self.step, "fraction": self.fraction, "from_lr": self.from_lr, "height": self.height}


def changed_schedule(old: dict, new: dict) -> list[str]:
    """The schedule settings that differ between two TrainConfig dicts (e.g. a checkpoint's and now).

    Only the fields the run uses count: a run of steps ignores warmup_fraction, a budget run max_iters.
    """
    budgets = old.get("budget_minutes"), new.get("budget_minutes")
    names = RATE_FIELDS + (STEP_FIELDS if budgets == (None, None) else BUDGET_FIELDS if None not in budgets else ())
    return [name for name in names if old.get(name) != new.get(name)]
