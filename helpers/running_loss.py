"""The running training loss between evaluations: smoothed, and thinned so a long run stays readable.

What it knows: a stream of (step, loss) pairs, one per logged step (the trainer reads a batch's loss
every `log_interval` steps). Each logged loss is one batch, so it is noisy; the curve shown is an
exponential moving average, bias-corrected so its first points are not pulled towards zero (the
correction Adam uses). However long the run, at most `max_points` points are kept: when there are
more, neighbouring old points are merged into their mean, so the curve keeps its shape and its whole
span (thinning the points, not the information). The newest point is always the exact latest average.

What it does not know: plotting, or when to redraw (helpers.live decides that).
"""

from __future__ import annotations

import math


class RunningLoss:
    """A smoothed, thinned record of the training loss. `smoothing` is the weight of the past (0: none).

    Each kept point is the mean of `stride` consecutive smoothed points; when more than `max_points`
    are kept, neighbours are merged and the stride doubles, so every point stands for as many steps.
    """

    def __init__(self, smoothing: float = 0.8, max_points: int = 400):
        from .errors import require

        require(0 <= smoothing < 1, f"smoothing must be in [0, 1), not {smoothing!r}.")
        require(max_points >= 4, f"max_points must be at least 4, not {max_points!r}.")
        self.smoothing, self.max_points = smoothing, max_points
        self._average, self._count = 0.0, 0
        self._stride = 1
        self._kept: list[tuple[float, float]] = []  # (mean step, mean loss) of `stride` points each
        self._bucket = [0.0, 0.0, 0]  # sums of steps and losses not yet kept, and how many
        self.latest: tuple[float, float] | None = None  # (step, smoothed loss) of the newest point

    def add(self, step: int, loss: float) -> None:
        """Record one logged loss; a non-finite one is skipped (the trainer stops on it anyway)."""
        if not math.isfinite(loss):
            return
        self._count += 1
        self._average = self.smoothing * self._average + (1 - self.smoothing) * loss
        smoothed = self._average / (1 - self.smoothing**self._count)
        self.latest = (step, smoothed)
        self._bucket = [self._bucket[0] + step, self._bucket[1] + smoothed, self._bucket[2] + 1]
        if self._bucket[2] == self._stride:
            self._kept.append((self._bucket[0] / self._stride, self._bucket[1] / self._stride))
            self._bucket = [0.0, 0.0, 0]
            if len(self._kept) > self.max_points:
                self._thin()

    def _thin(self) -> None:
        """Merge neighbours two by two; an odd last point goes back into the bucket with its weight."""
        if len(self._kept) % 2:
            step, loss = self._kept.pop()
            self._bucket = [step * self._stride, loss * self._stride, self._stride]
        pairs = zip(self._kept[::2], self._kept[1::2])
        self._kept = [((a[0] + b[0]) / 2, (a[1] + b[1]) / 2) for a, b in pairs]
        self._stride *= 2

    def _points(self) -> list[tuple[float, float]]:
        pending = [self.latest] if self._bucket[2] else []  # the curve always reaches the newest point
        return self._kept + pending

    @property
    def steps(self) -> list[float]:
        return [step for step, _ in self._points()]

    @property
    def losses(self) -> list[float]:
        return [loss for _, loss in self._points()]

    def __len__(self) -> int:
        return len(self._points())


class RedrawPacer:
    """When a live plot may redraw between evaluations: at most every `every_s` seconds, and only while
    all the drawing so far (this redraw's likely cost included) stays under `max_share` of the time
    since training started. So a slow machine gets fewer redraws, never a slower run.

    Draws are timed by kind ("eval": the full figure at an evaluation, "between": a redraw between
    them); a redraw's likely cost is the last one of its kind. `clock` (seconds) is time.perf_counter
    unless a test passes a fake one.
    """

    def __init__(self, every_s: float = 1.0, max_share: float = 0.05, clock=None):
        import time

        from .errors import require

        require(every_s >= 0, f"redraw_every_s must be ≥ 0 seconds, not {every_s!r}.")
        require(0 < max_share <= 1, f"max_draw_share must be in (0, 1], not {max_share!r}.")
        self.every_s, self.max_share, self.clock = every_s, max_share, clock or time.perf_counter
        self.start()

    def start(self) -> None:
        self.started = self.last_end = self.clock()
        self.spent_s, self.count = 0.0, 0
        self.last_cost_s: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self.spent_by_kind: dict[str, float] = {}

    def due(self, kind: str = "between") -> bool:
        now = self.clock()
        within_share = self.spent_s + self.last_cost_s.get(kind, 0.0) <= self.max_share * (now - self.started)
        return now - self.last_end >= self.every_s and within_share

    def timed(self, draw, kind: str = "between") -> None:
        """Run `draw()` and count its time as drawing of that kind."""
        began = self.clock()
        try:
            draw()
        finally:
            self.last_end = self.clock()
            self.last_cost_s[kind] = self.last_end - began
            self.spent_s += self.last_cost_s[kind]
            self.count += 1
            self.counts[kind] = self.counts.get(kind, 0) + 1
            self.spent_by_kind[kind] = self.spent_by_kind.get(kind, 0.0) + self.last_cost_s[kind]

    def share(self) -> float:
        """The share of the time since training started that went into drawing."""
        elapsed = self.clock() - self.started
        return self.spent_s / elapsed if elapsed > 0 else 0.0
