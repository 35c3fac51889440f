"""The live plot between evaluations: the running loss (smoothed, bias-corrected, thinned) and the
pacer that keeps redraws under a share of the training time, with a fake clock; then a real tiny run
whose figure carries the running curve."""

from __future__ import annotations

import io
import itertools
import statistics

import numpy as np
import pytest
from PIL import Image

from helpers import GPT, Callback, GPTConfig, TrainConfig, Trainer, WorkshopError
from helpers.live import LiveLossPlot
from helpers.plotting import figure_png
from helpers.running_loss import RedrawPacer, RunningLoss


def test_running_loss_is_bias_corrected_from_its_first_point():
    running = RunningLoss(smoothing=0.9)
    for step in range(1, 6):
        running.add(10 * step, 2.0)
    assert running.losses == pytest.approx([2.0] * 5)  # not pulled towards 0 at the start
    running.add(60, 1.0)
    assert 1.0 < running.latest[1] < 2.0 and running.latest[0] == 60


def test_running_loss_smooths_noise():
    running = RunningLoss(smoothing=0.8)
    noisy = [3.0 + (0.5 if i % 2 else -0.5) for i in range(200)]
    for i, loss in enumerate(noisy):
        running.add(i, loss)
    late = running.losses[100:]
    assert statistics.pstdev(late) < 0.3 * statistics.pstdev(noisy)


def test_a_long_run_is_thinned_but_keeps_its_span_shape_and_latest_point():
    running = RunningLoss(smoothing=0.0, max_points=100)
    for step in range(1, 10_001):
        running.add(step, 5.0 - step / 2500)  # a straight fall from 5 to 1
    assert len(running) <= 100
    assert running.steps[0] < 100 and running.latest == (10_000, pytest.approx(1.0))
    assert running.steps == sorted(running.steps)
    # merged points are means of neighbours: still on the same line
    assert all(loss == pytest.approx(5.0 - step / 2500) for step, loss in zip(running.steps, running.losses))


def test_non_finite_losses_are_skipped():
    running = RunningLoss()
    running.add(1, float("nan"))
    assert running.latest is None and len(running) == 0


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: RunningLoss(smoothing=1.0), "smoothing"),
        (lambda: RunningLoss(max_points=2), "max_points"),
        (lambda: RedrawPacer(every_s=-1), "redraw_every_s"),
        (lambda: RedrawPacer(max_share=0), "max_draw_share"),
        (lambda: LiveLossPlot(max_draw_share=1.5), "max_draw_share"),
    ],
)
def test_bad_settings_are_workshop_errors(make, message):
    with pytest.raises(WorkshopError, match=message):
        make()


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


def test_pacer_waits_its_interval_and_keeps_drawing_under_its_share():
    clock = FakeClock()
    pacer = RedrawPacer(every_s=2.0, max_share=0.05, clock=clock)
    clock.now = 1.0
    assert not pacer.due()  # too soon
    clock.now = 2.0
    assert pacer.due()

    def slow_draw():  # a redraw that takes 1 s: the next may come only when it is 5% of the time
        clock.now += 1.0

    pacer.timed(slow_draw)
    assert pacer.spent_s == 1.0 and pacer.count == 1
    clock.now = 10.0
    assert not pacer.due()  # 1 s drawn + 1 s more would be 20% of 10 s
    clock.now = 40.0
    assert pacer.due()  # 2 s of 40 s is exactly 5%
    assert pacer.share() == pytest.approx(1 / 40)


def test_pacer_expects_a_redraw_to_cost_what_the_last_of_its_kind_did():
    clock = FakeClock()
    pacer = RedrawPacer(every_s=0.0, max_share=0.05, clock=clock)
    clock.now = 100.0
    pacer.timed(lambda: clock.advance(0.1), "between")  # a cheap redraw between evaluations
    pacer.timed(lambda: clock.advance(4.0), "eval")  # an expensive full figure at an evaluation
    assert pacer.spent_s == pytest.approx(4.1) and pacer.counts == {"between": 1, "eval": 1}
    # 4.1 s drawn of 104.1 s: a cheap one (0.1 s) still fits under 5%, another expensive one would not
    assert pacer.due("between") and not pacer.due("eval")


def test_pacer_bound_holds_over_a_whole_run():
    """Whatever a redraw costs, the drawing between evaluations never passes the share."""
    for cost in (0.01, 0.2, 3.0):
        clock = FakeClock()
        pacer = RedrawPacer(every_s=0.5, max_share=0.05, clock=clock)
        for _ in range(20_000):  # steps of 10 ms
            clock.now += 0.01
            if pacer.due():
                pacer.timed(lambda c=cost, k=clock: k.advance(c))
        assert pacer.count > 0 and pacer.share() <= 0.05 + 1e-9, (cost, pacer.share())


# ---- on a real (tiny) run ----------------------------------------------------------------------
def tiny_trainer(corpus, plot, max_iters=12, callbacks=()):
    model = GPT(GPTConfig(vocab_size=corpus.tokenizer.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=16))
    cfg = TrainConfig(
        batch_size=4,
        max_iters=max_iters,
        eval_interval=6,
        eval_iters=2,
        warmup_iters=2,
        log_interval=1,
        progress=False,
        compile=False,
    )
    return Trainer(model, corpus, cfg, callbacks=[*callbacks, plot])


def pixels(png: bytes):
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def test_the_figure_redraws_the_running_loss_between_evaluations(corpus):
    plot = LiveLossPlot(mode="figure", redraw_every_s=0, max_draw_share=1.0)
    ticks = itertools.count()
    plot.pacer.clock = lambda: 10.0 * next(ticks)  # every step is 'long enough ago': a redraw each time
    seen = {}

    class Look(Callback):  # runs after the plot: what it shows after each step's redraw
        def on_step(self, trainer, step):
            seen[step] = (plot.png, figure_png(plot.figure), [t.get_text() for t in plot.figure.axes[0].texts])

    trainer = tiny_trainer(corpus, plot)
    trainer.callbacks.append(Look())
    history = trainer.fit()
    assert plot.redraws == len(history) + 1  # at evaluations and at the end, as before
    assert plot.running_redraws == trainer.cfg.max_iters  # and at every logged step in between
    assert len(plot.running) == trainer.cfg.max_iters and plot.running.latest[0] == trainer.cfg.max_iters
    # between evaluations, the fast redraw (only the curve and its value) shows what a full render shows
    shown, full, texts = seen[9]
    assert pixels(shown).shape == pixels(full).shape
    assert np.abs(pixels(shown).astype(int) - pixels(full).astype(int)).max() <= 1
    assert any(t.startswith("running average: ") and t.endswith("at step 9") for t in texts)
    assert not np.array_equal(pixels(seen[8][0]), pixels(shown))  # and it did move
    ax_loss = plot.figure.axes[0]
    gray = [line for line in ax_loss.lines if list(line.get_ydata()) == plot.running.losses]
    assert len(gray) == 1 and list(gray[0].get_xdata()) == plot.running.steps
    assert "train, running average" in [t.get_text() for t in ax_loss.get_legend().get_texts()]
    assert plot.png.startswith(b"\x89PNG")


def test_a_point_outside_the_axes_rescales_them_and_redraws_everything(corpus):
    plot = LiveLossPlot(mode="figure", redraw_every_s=0, max_draw_share=1.0)
    trainer = tiny_trainer(corpus, plot)
    trainer.fit()
    ax_loss = plot.figure.axes[0]
    plot.running.add(trainer.step + 50, 0.05)  # far below and beyond what the axes show
    plot._redraw_running()
    step, loss = plot.running.latest
    assert ax_loss.get_ylim()[0] < loss and ax_loss.get_xlim()[1] >= step
    assert np.abs(pixels(plot.png).astype(int) - pixels(figure_png(plot.figure)).astype(int)).max() <= 1


def test_a_slow_redraw_is_skipped_rather_than_slowing_training(corpus):
    clock = FakeClock()

    class Steps(Callback):  # each training step takes 10 ms on the fake clock
        def on_step(self, trainer, step):
            clock.now += 0.01

    def run(draw_s):
        plot = LiveLossPlot(mode="figure", redraw_every_s=0, max_draw_share=0.05)
        plot.pacer.clock = clock
        for name in ("draw", "_redraw_running"):  # every redraw takes draw_s on the fake clock
            real = getattr(plot, name)
            setattr(plot, name, lambda real=real: (setattr(clock, "now", clock.now + draw_s), real())[1])
        tiny_trainer(corpus, plot, callbacks=[Steps()]).fit()
        return plot

    slow = run(draw_s=1.0)  # the evaluations' redraws alone are far over 5% of 12 steps of 10 ms
    assert slow.running_redraws == 0 and slow.redraws == 4  # the evaluations still draw
    fast = run(draw_s=0.0001)
    assert fast.running_redraws > 0 and fast.pacer.share() <= 0.05


def test_text_mode_never_redraws_between_evaluations(corpus, capsys):
    plot = LiveLossPlot(mode="text", redraw_every_s=0, max_draw_share=1.0)
    history = tiny_trainer(corpus, plot).fit()
    assert plot.running_redraws == 0 and len(plot.lines) == len(history) + 1
    assert len(plot.running) == 12  # still recorded
