"""The learning-rate schedule: linear warm-up to a peak, then half a cosine down to a floor.

A run is measured in steps (`max_iters`) or in wall-clock time (`budget_minutes`); the same shape is
laid over either: `lr_at(step, cfg)` for a run of steps, `lr_at_fraction(f, cfg)` for the fraction `f`
of a time budget spent. Both rise to the peak, never rise again, and end on the floor.

`Rewarm` is how a run that is resumed with a new schedule (a finished run given more steps or more
minutes) carries on: its own schedule over what is left, never a jump to the middle of the new cosine.
A finished run sits at its floor, annealed; by default it holds that rate, then anneals further (every
climb measured made the val loss rise first, benchmarks/RESULTS.md); `TrainConfig.extend_height` climbs.

This module knows rates, steps and fractions only: not optimizers, models or clocks (the trainer
reads its clock and passes the fraction spent). TrainConfig checks the settings it is given.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from types import SimpleNamespace

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


# How a finished run carries on when it is given more steps or minutes (measured: benchmarks/RESULTS.md,
# "Extending a finished run"). By default (height 0) the rate is never raised: it holds where the run
# stopped (its floor) for EXTEND_RAMP of what is left, then anneals to EXTEND_END of that: the best design
# measured whose val loss never rose above the finished run's. With a height, it climbs over EXTEND_RAMP to
# that share of the way from floor to peak and decays to the floor: it ends lower, but gets worse first.
EXTEND_HEIGHT = 0.0
EXTEND_RAMP = 0.5
EXTEND_END = 0.1
# A run annealed to (almost) nothing, as the budget presets anneal to zero, has no rate to hold: one that
# stopped below a hundredth of its peak (EXTEND_END of this share) climbs over EXTEND_RAMP to this share of
# its peak instead (the floor the design above was measured from), then anneals to EXTEND_END of it.
# Holding a rate of zero would train nothing.
EXTEND_FROM_ZERO = 0.1


@dataclass(frozen=True)
class Rewarm:
    """The schedule of a run resumed with a changed schedule (a finished run given more steps or minutes),
    from where it changed (`step`, or `fraction` of a budget) to the new end: a linear ramp from the rate it
    stopped at (`from_lr`) to a plateau over `ramp` of what is left, then half a cosine down to the end.

    With `height` 0 the plateau is the rate it stopped at (held, never raised) and a run that stopped at
    or below its floor (finished, annealed) anneals further, to `EXTEND_END` of it: a second anneal without
    undoing the first. With a height, the plateau is that share of the way from the floor to the peak
    (never below `from_lr`) and the end is the floor: climbing back undoes the annealing (the val loss rises
    for hundreds of steps) before it ends lower. An extension too short for a ramp step only decays.
    """

    step: int
    fraction: float
    from_lr: float
    height: float = EXTEND_HEIGHT
    ramp: float = EXTEND_RAMP

    def start(self, cfg) -> float:
        """The rate it carries on from: `from_lr` (below the floor too, after an extension), at most the peak."""
        return min(max(self.from_lr, 0.0), cfg.learning_rate)

    def from_zero(self, cfg) -> bool:
        """True when the run stopped at (almost) zero, below EXTEND_END of EXTEND_FROM_ZERO of its peak."""
        least = EXTEND_END * EXTEND_FROM_ZERO * cfg.learning_rate * (1 - 1e-6)  # (a run at exactly it holds it)
        return self.height == 0 and self.start(cfg) < least

    def plateau(self, cfg) -> float:
        """The top of the climb (the start when it is higher, or with height 0: then the rate never rises,
        unless the run stopped at about zero: it climbs to EXTEND_FROM_ZERO of the peak)."""
        if self.from_zero(cfg):
            return EXTEND_FROM_ZERO * cfg.learning_rate
        if self.height == 0:
            return self.start(cfg)
        return max(self.start(cfg), cfg.min_lr + self.height * (cfg.learning_rate - cfg.min_lr))

    def end(self, cfg) -> float:
        """The rate it ends on: the floor, or with height 0 from a run at its floor, EXTEND_END of where it was
        (of where it climbed to, from about zero)."""
        start = self.start(cfg)
        if self.from_zero(cfg):
            return EXTEND_END * self.plateau(cfg)
        return EXTEND_END * start if self.height == 0 and start <= cfg.min_lr * (1 + 1e-9) else cfg.min_lr

    def lr(self, cfg, step: int, fraction: float | None = None) -> float:
        start, plateau, floor = self.start(cfg), self.plateau(cfg), self.end(cfg)
        if fraction is None:  # a run of steps: `done` of the `left` steps to the floor
            # (a step before the extension, as a plot of the whole schedule asks for, gets its start rate)
            done, left = max(step - self.step, 0), decay_steps(cfg) - self.step
            ramp = int(self.ramp * left)
            if done >= left:
                return floor
            if done < ramp:
                return start + (plateau - start) * (done + 1) / ramp
            return cosine((done - ramp) / (left - ramp), plateau if ramp else start, floor)
        if fraction >= 1.0 or self.fraction >= 1.0:
            return floor
        done = (fraction - self.fraction) / (1.0 - self.fraction)
        if done < self.ramp:
            return start + (plateau - start) * max(done, 0.0) / self.ramp
        return cosine((done - self.ramp) / (1.0 - self.ramp), plateau, floor)

    def as_dict(self) -> dict:
        return asdict(self)


def still_warming_up(old: dict, step: int, fraction: float) -> bool:
    """Whether a run (its TrainConfig as a dict) stopped before its rate reached the peak: nothing annealed
    yet, so a changed schedule climbs to the full peak (height 1) rather than to the extension's plateau."""
    if old.get("budget_minutes") is None:  # the warm-up lr_at used: older checkpoints may lack a field
        return step < warmup_steps(
            SimpleNamespace(**{"warmup_iters": 0, "lr_decay_iters": None, "max_iters": 0, **old})
        )
    return fraction < old.get("warmup_fraction", 0.0)


def changed_schedule(old: dict, new: dict) -> list[str]:
    """The schedule settings that differ between two TrainConfig dicts (e.g. a checkpoint's and now).

    Only the fields the run uses count: a run of steps ignores warmup_fraction, a budget run max_iters.
    """
    budgets = old.get("budget_minutes"), new.get("budget_minutes")
    names = RATE_FIELDS + (STEP_FIELDS if budgets == (None, None) else BUDGET_FIELDS if None not in budgets else ())
    return [name for name in names if old.get(name) != new.get(name)]
