"""The learning-rate schedule (helpers.schedule) and the settings TrainConfig accepts for it.

The property every accepted setting must have: the rate rises to the peak, never rises again, and ends
on the floor. Checked over a dense grid of settings, over every preset with the overrides the command
line allows, and for a run extended after it finished (the re-warm).
"""

from __future__ import annotations

import itertools
import math
import random

import pytest

from helpers import PRESETS, TrainConfig, WorkshopError, lr_at
from helpers.schedule import (
    EXTEND_END,
    EXTEND_FROM_ZERO,
    EXTEND_HEIGHT,
    EXTEND_RAMP,
    Rewarm,
    lr_at_fraction,
    warmup_steps,
)


def assert_rises_to_peak_then_falls_to_floor(lrs: list[float], peak: float, floor: float, what: str) -> None:
    top = max(range(len(lrs)), key=lambda i: (lrs[i], -i))  # the first index of the highest rate
    rising, falling = lrs[: top + 1], lrs[top:]
    assert all(b >= a for a, b in zip(rising, rising[1:])), f"{what}: the warm-up falls somewhere"
    assert all(b <= a * (1 + 1e-12) for a, b in zip(falling, falling[1:])), f"{what}: the rate rises after its peak"
    assert lrs[top] == pytest.approx(peak, rel=1e-9), f"{what}: peak {lrs[top]} is not {peak}"
    assert lrs[-1] == pytest.approx(floor, rel=1e-9, abs=1e-15), f"{what}: ends at {lrs[-1]}, not the floor {floor}"


PEAKS = [1e-5, 3e-4, 6e-3, 0.1]
FLOORS = [None, 0.0, "same", "half"]  # None: the default (peak / 10)
WARMUPS = [0, 1, 2, 5, 50, 100, 1000]
LENGTHS = [1, 2, 3, 7, 30, 100, 700]


def floor_for(peak, floor):
    return {None: None, 0.0: 0.0, "same": peak, "half": peak / 2}[floor]


@pytest.mark.parametrize("peak,floor", list(itertools.product(PEAKS, FLOORS)))
def test_every_accepted_step_schedule_rises_to_the_peak_then_ends_at_the_floor(peak, floor):
    for warmup, max_iters in itertools.product(WARMUPS, LENGTHS):
        for decay in {None, max_iters, max(1, max_iters // 2)}:
            cfg = TrainConfig(
                learning_rate=peak,
                min_lr=floor_for(peak, floor),
                warmup_iters=warmup,
                max_iters=max_iters,
                lr_decay_iters=decay,
            )
            what = f"peak {peak}, floor {cfg.min_lr}, warm-up {warmup}, max_iters {max_iters}, decay {decay}"
            lrs = [lr_at(step, cfg) for step in range(max_iters + 1)]
            assert_rises_to_peak_then_falls_to_floor(lrs, peak, cfg.min_lr, what)
            assert warmup_steps(cfg) <= (decay or max_iters) // 2  # the warm-up fits, with room to decay


def test_random_settings_keep_the_property():
    rng = random.Random(0)
    for _ in range(300):
        peak = 10 ** rng.uniform(-6, 0)
        cfg = TrainConfig(
            learning_rate=peak,
            min_lr=rng.choice([None, peak * rng.random()]),
            warmup_iters=rng.randrange(0, 3000),
            max_iters=rng.randrange(1, 3000),
        )
        lrs = [lr_at(step, cfg) for step in range(cfg.max_iters + 1)]
        assert_rises_to_peak_then_falls_to_floor(lrs, peak, cfg.min_lr, repr(cfg))


@pytest.mark.parametrize("warmup_fraction", [0.0, 0.01, 0.02, 0.1, 0.5])
@pytest.mark.parametrize("floor", FLOORS)
def test_the_budget_schedule_has_the_same_shape_over_the_fraction_spent(warmup_fraction, floor):
    cfg = TrainConfig(learning_rate=3e-3, min_lr=floor_for(3e-3, floor), warmup_fraction=warmup_fraction)
    fractions = [i / 2000 for i in range(2001)]
    lrs = [lr_at_fraction(f, cfg) for f in fractions]
    assert_rises_to_peak_then_falls_to_floor(lrs, 3e-3, cfg.min_lr, f"warm-up {warmup_fraction}")
    assert lr_at_fraction(1.0, cfg) == cfg.min_lr and lr_at_fraction(1.5, cfg) == cfg.min_lr
    assert lr_at_fraction(warmup_fraction + (1 - warmup_fraction) / 2, cfg) == pytest.approx((3e-3 + cfg.min_lr) / 2)


@pytest.mark.parametrize("preset", list(PRESETS))
@pytest.mark.parametrize("learning_rate", [None, 1e-5, 1e-4, 3e-2])
@pytest.mark.parametrize("max_iters", [None, 1, 3, 10, 40, 20_000])
def test_preset_overrides_from_the_command_line_never_run_backwards(preset, learning_rate, max_iters):
    """--learning-rate below a preset's floor used to make the rate climb all run; --max-iters below its
    warm-up never reached the peak nor decayed. Now the floor follows the peak and the warm-up fits."""
    overrides = {k: v for k, v in (("learning_rate", learning_rate), ("max_iters", max_iters)) if v is not None}
    cfg = TrainConfig(**{**PRESETS[preset].train, **overrides})
    lrs = [lr_at(step, cfg) for step in range(cfg.max_iters + 1)]
    assert_rises_to_peak_then_falls_to_floor(lrs, cfg.learning_rate, cfg.min_lr, f"{preset} {overrides}")
    train = PRESETS[preset].train
    share = train["min_lr"] / train["learning_rate"] if "min_lr" in train else 0.1  # a preset's floor, or a tenth
    assert cfg.min_lr == pytest.approx(cfg.learning_rate * share)  # the floor followed the peak


def test_the_usual_schedule_is_unchanged():
    """A warm-up that fits is used as given: the schedule notebook 05 writes by hand, step for step."""
    cfg = TrainConfig(max_iters=5000, warmup_iters=100, learning_rate=1e-3)
    assert cfg.min_lr == pytest.approx(1e-4)
    assert lr_at(0, cfg) == pytest.approx(1e-5) and lr_at(100, cfg) == pytest.approx(1e-3)
    assert lr_at(2550, cfg) == pytest.approx(5.5e-4) and lr_at(5000, cfg) == pytest.approx(1e-4)


@pytest.mark.parametrize("height,ramp", [(EXTEND_HEIGHT, EXTEND_RAMP), (1.0, 0.5), (0.5, 0.1), (0.0, 0.0), (0.25, 1.0)])
@pytest.mark.parametrize("from_lr", [0.0, 6e-5, 6e-4, 3e-3, 6e-3, 1e-2])
@pytest.mark.parametrize(
    "restart,new_max_iters", [(700, 1400), (700, 750), (700, 701), (700, 703), (350, 1400), (0, 700)]
)
def test_an_extended_schedule_climbs_without_a_jump_then_ends_at_its_end(from_lr, restart, new_max_iters, height, ramp):
    """A resume extension is its own case of the property: from the rate it stopped at, the rate climbs
    (one ramp step at a time) to its top, never rises again, and ends on its end: the floor, or with
    height 0 from a run at or below its floor, EXTEND_END of where it stopped (annealing further)."""
    cfg = TrainConfig(learning_rate=6e-3, warmup_iters=50, max_iters=new_max_iters)
    extension = Rewarm(step=restart, fraction=0.0, from_lr=from_lr, height=height, ramp=ramp)
    lrs = [extension.lr(cfg, step) for step in range(restart, new_max_iters + 1)]
    start = min(from_lr, cfg.learning_rate)
    steps = int(ramp * (new_max_iters - restart))
    from_zero = height == 0 and start < EXTEND_END * EXTEND_FROM_ZERO * cfg.learning_rate * (1 - 1e-6)
    if from_zero:  # nothing to hold: it climbs to EXTEND_FROM_ZERO of the peak, then anneals to a tenth of that
        plateau, end = (EXTEND_FROM_ZERO * cfg.learning_rate if steps else start), EXTEND_END * EXTEND_FROM_ZERO * 6e-3
    else:
        plateau = max(start, cfg.min_lr + height * (cfg.learning_rate - cfg.min_lr)) if steps and height else start
        end = EXTEND_END * start if height == 0 and start <= cfg.min_lr * (1 + 1e-9) else cfg.min_lr
    assert extension.end(cfg) == pytest.approx(end, abs=1e-18)
    what = f"extension from {from_lr} at {restart}"
    assert_rises_to_peak_then_falls_to_floor(lrs, max(lrs), end, what)
    assert max(lrs) == pytest.approx(max(plateau, end), rel=1e-9, abs=1e-18)
    if height == 0 and not from_zero:  # the default never raises the rate above where it stopped
        assert max(lrs) <= max(start, end) * (1 + 1e-9)
    if from_zero and new_max_iters - restart > 1:  # and from about zero it does learn something
        assert sum(lrs) > 0.01 * cfg.learning_rate
    one_step = (plateau - start) / max(steps, 1)
    assert lrs[0] <= start + one_step * (1 + 1e-9) + 1e-18  # no jump: one ramp step at most
    assert all(b - a <= one_step * (1 + 1e-9) + 1e-18 for a, b in zip(lrs, lrs[1:]) if b > max(start, end))


@pytest.mark.parametrize("height", [EXTEND_HEIGHT, 0.25])
@pytest.mark.parametrize("from_lr", [6e-4, 3e-3])
@pytest.mark.parametrize("fraction", [0.0, 0.3, 0.9])
def test_an_extended_budget_schedule_has_the_same_shape_over_the_fraction_spent(from_lr, fraction, height):
    cfg = TrainConfig(learning_rate=6e-3, budget_minutes=10)
    extension = Rewarm(step=0, fraction=fraction, from_lr=from_lr, height=height)
    fractions = [fraction + (1 - fraction) * i / 2000 for i in range(2001)]
    lrs = [extension.lr(cfg, 0, f) for f in fractions]
    assert lrs[0] == pytest.approx(from_lr)
    assert_rises_to_peak_then_falls_to_floor(lrs, max(lrs), extension.end(cfg), f"from {from_lr} at {fraction}")
    assert max(lrs) == pytest.approx(max(from_lr, cfg.min_lr + height * (6e-3 - cfg.min_lr)))


def test_a_finished_run_extended_by_default_holds_its_floor_then_anneals_to_a_tenth_of_it_and_again():
    """The default extension (measured: benchmarks/RESULTS.md) never raises the rate: it holds the floor
    for EXTEND_RAMP of the added steps, then anneals to EXTEND_END of it; extended again, it holds that."""
    cfg = TrainConfig(learning_rate=6e-3, warmup_iters=50, max_iters=1400)
    floor = cfg.min_lr
    lrs = [Rewarm(700, 0.0, floor).lr(cfg, step) for step in range(700, 1401)]
    hold = int(EXTEND_RAMP * 700)
    assert lrs[:hold] == pytest.approx([floor] * hold) and lrs[-1] == pytest.approx(EXTEND_END * floor)
    assert all(b <= a for a, b in zip(lrs, lrs[1:]))
    longer = TrainConfig(learning_rate=6e-3, warmup_iters=50, max_iters=2800)
    again = [Rewarm(1400, 0.0, lrs[-1]).lr(longer, step) for step in range(1400, 2801)]
    assert max(again) == pytest.approx(EXTEND_END * floor) and again[-1] == pytest.approx(EXTEND_END**2 * floor)


def test_a_run_annealed_to_zero_extended_by_default_climbs_to_a_tenth_of_its_peak_then_anneals():
    """The budget presets anneal to zero: holding that rate would train nothing in the added steps."""
    cfg = TrainConfig(learning_rate=6e-3, min_lr=0.0, warmup_iters=50, max_iters=1400)
    lrs = [Rewarm(700, 0.0, 0.0).lr(cfg, step) for step in range(700, 1401)]
    climb = int(EXTEND_RAMP * 700)
    assert all(b > a for a, b in zip(lrs[:climb], lrs[1:climb]))  # one ramp step at a time, from about zero
    assert max(lrs) == pytest.approx(EXTEND_FROM_ZERO * 6e-3) and lrs[0] <= max(lrs) / climb * (1 + 1e-9)
    assert lrs[-1] == pytest.approx(EXTEND_END * EXTEND_FROM_ZERO * 6e-3)
    budget = TrainConfig(learning_rate=6e-3, min_lr=0.0, budget_minutes=10)
    fractions = [i / 100 for i in range(101)]
    by_time = [Rewarm(0, 0.0, 0.0).lr(budget, 0, f) for f in fractions]
    assert by_time[0] == 0.0 and max(by_time) == pytest.approx(EXTEND_FROM_ZERO * 6e-3)


def test_an_extension_with_a_decay_step_reaches_its_end_there_and_a_lowered_peak_is_not_exceeded():
    cfg = TrainConfig(learning_rate=3e-3, max_iters=1400, lr_decay_iters=1000, warmup_iters=50)
    extension = Rewarm(step=700, fraction=0.0, from_lr=6e-3)  # the run had a peak of 6e-3; now it is 3e-3
    lrs = [extension.lr(cfg, step) for step in range(700, 1401)]
    assert lrs[0] <= 3e-3 and max(lrs) <= 3e-3
    assert_rises_to_peak_then_falls_to_floor(lrs, max(lrs), cfg.min_lr, "lowered peak")
    assert set(lrs[300:]) == {cfg.min_lr}  # from the decay step on: the floor


def test_the_old_jump_fails_the_extension_check_and_the_extension_passes():
    """The rates a finished 700-step laptop run gets when extended to 1400 (injected, no training): the
    old behaviour restarted the longer cosine in its middle, a jump of more than 5× the floor in one step;
    the default extension never goes above the floor it stopped at."""
    cfg = TrainConfig(learning_rate=6e-3, warmup_iters=50, max_iters=1400)
    floor = cfg.min_lr

    def never_above_where_it_stopped(lrs):
        return max(lrs) <= floor * (1 + 1e-9)

    old_jump = [lr_at(step, cfg) for step in range(700, 1400)]
    assert old_jump[0] > 5 * floor and not never_above_where_it_stopped(old_jump)
    assert never_above_where_it_stopped([Rewarm(700, 0.0, floor).lr(cfg, step) for step in range(700, 1400)])


# ---- settings that cannot be made sense of: one clear error each --------------------------------
@pytest.mark.parametrize(
    "settings,message",
    [
        (dict(learning_rate=1e-3, min_lr=2e-3), "min_lr=0.002 is not between 0 and learning_rate=0.001"),
        (dict(min_lr=-1e-4), "min_lr=-0.0001 is not between"),
        (dict(min_lr=math.nan), "min_lr=nan"),
        (dict(learning_rate=0.0), "learning_rate must be a positive number"),
        (dict(learning_rate=-1e-3), "learning_rate must be a positive number"),
        (dict(learning_rate=math.inf), "learning_rate must be a positive number"),
        (dict(learning_rate="1e-3"), "learning_rate must be a positive number"),
        (dict(warmup_iters=-5), "warmup_iters must be a whole number"),
        (dict(warmup_iters=2.5), "warmup_iters must be a whole number"),
        (dict(max_iters=100, lr_decay_iters=200), "lr_decay_iters=200 must be a step of the run"),
        (dict(lr_decay_iters=0), "lr_decay_iters=0 must be a step of the run"),
        (dict(budget_minutes=0), "budget_minutes must be a positive number"),
        (dict(budget_minutes=-5), "budget_minutes must be a positive number"),
        (dict(budget_minutes=math.nan), "budget_minutes must be a positive number"),
        (dict(budget_minutes="5"), "budget_minutes must be a positive number"),
        (dict(warmup_fraction=0.7), "warmup_fraction must be between 0 and 0.5"),
        (dict(extend_height=-0.1), "extend_height must be between 0"),
        (dict(extend_height=1.5), "extend_height must be between 0"),
        (dict(extend_height=math.nan), "extend_height must be between 0"),
        (dict(extend_height="0.5"), "extend_height must be between 0"),
        (dict(warmup_fraction=-0.1), "warmup_fraction must be between 0 and 0.5"),
        (dict(eval_interval_minutes=0), "eval_interval_minutes must be a positive number"),
    ],
)
def test_settings_that_make_no_schedule_are_refused_with_the_fix(settings, message):
    with pytest.raises(WorkshopError, match=message.replace("(", r"\(").replace(".", r"\.")) as err:
        TrainConfig(**settings)
    assert "Fix" in str(err.value) or "must be" in str(err.value)


def test_only_the_settings_a_run_uses_count_as_a_changed_schedule():
    from helpers.schedule import changed_schedule

    steps = {"learning_rate": 6e-3, "min_lr": 6e-4, "max_iters": 700, "warmup_iters": 50, "lr_decay_iters": None}
    older = dict(steps)  # a checkpoint written before budgets existed: no budget fields at all
    assert changed_schedule(older, {**steps, "budget_minutes": None, "warmup_fraction": 0.02}) == []
    assert changed_schedule(steps, {**steps, "max_iters": 1400}) == ["max_iters"]
    budget = {**steps, "budget_minutes": 5, "warmup_fraction": 0.02}
    assert changed_schedule(budget, {**budget, "max_iters": 5000}) == []  # a budget run has no max_iters
    assert changed_schedule(budget, {**budget, "budget_minutes": 10}) == ["budget_minutes"]
    assert changed_schedule(budget, {**budget, "warmup_fraction": 0.05}) == ["warmup_fraction"]
    assert changed_schedule(steps, budget) == ["budget_minutes"]
