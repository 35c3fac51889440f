"""The live loss plot: its logic (sweet spot, overfitting onset, ETA) as plain functions, and the
callback attached to a real (tiny) training run, asserting on the figure's data, not on pixels."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from helpers import GPT, GPTConfig, TrainConfig, Trainer, WorkshopError, lr_at
from helpers.live import LiveLossPlot, eta_seconds, format_duration, format_rate, schedule_curve, status_line
from helpers.plotting import best_point, overfitting_onset, plot_history


def history_of(train, val):
    return [
        {"step": 10 * i, "train_loss": t, "val_loss": v, "lr": 1e-3, "tokens_per_s": 1000.0 * i, "elapsed_s": i}
        for i, (t, v) in enumerate(zip(train, val))
    ]


# a run that learns, then overfits from step 40 on: val rises three evaluations in a row while train falls
OVERFITTING = history_of(
    train=[4.0, 3.0, 2.5, 2.2, 2.0, 1.8, 1.6, 1.4],
    val=[4.0, 3.1, 2.7, 2.5, 2.55, 2.6, 2.7, 2.8],
)


def test_sweet_spot_is_the_lowest_val_loss():
    assert best_point(OVERFITTING)["step"] == 30
    assert best_point(history_of([1.0, 0.9], [float("nan"), 2.0]))["step"] == 10
    assert best_point([]) is None


def test_overfitting_onset_needs_val_up_while_train_down_for_patience_evals():
    assert overfitting_onset(OVERFITTING, patience=3)["step"] == 40
    assert overfitting_onset(OVERFITTING[:6], patience=3) is None  # only two rises so far
    assert overfitting_onset(OVERFITTING[:6], patience=2)["step"] == 40
    # val rising while train rises too is not overfitting (e.g. an LR too high)
    assert overfitting_onset(history_of([2.0, 2.1, 2.2, 2.3], [2.0, 2.1, 2.2, 2.3]), patience=2) is None
    # a blip that recovers resets the count
    blip = history_of([4, 3, 2.9, 2.8, 2.7, 2.6], [4, 3, 3.1, 3.0, 3.05, 2.9])
    assert overfitting_onset(blip, patience=2) is None


def test_eta_follows_the_pace_and_respects_the_time_budget(corpus, tiny_model):
    assert eta_seconds(step=100, max_iters=1000, start_step=0, elapsed_s=10.0) == pytest.approx(90.0)
    assert eta_seconds(step=600, max_iters=1000, start_step=500, elapsed_s=10.0) == pytest.approx(40.0)  # resumed
    assert eta_seconds(step=100, max_iters=1000, start_step=0, elapsed_s=10.0, budget_s=30.0) == pytest.approx(20.0)
    assert eta_seconds(step=0, max_iters=1000, start_step=0, elapsed_s=1.0) is None
    assert [format_duration(s) for s in (None, 5, 65, 3725)] == ["?", "5s", "1m 05s", "1h 02m"]
    assert [format_rate(r) for r in (850, 45_200, 1_300_000)] == ["850 tok/s", "45.2k tok/s", "1.3M tok/s"]

    # a budget run: the budget left on the trainer's clock, however fast the steps go
    from test_time_budget import FakeClock

    clock = FakeClock(100.0)
    trainer = Trainer(tiny_model, corpus, TrainConfig(budget_minutes=5, compile=False, progress=False), clock=clock)
    plot = LiveLossPlot(mode="text")
    trainer.clock_s = 30.0  # resumed after half a minute
    trainer._fit_started = 100.0
    plot.on_train_start(trainer)
    clock.now = 190.0
    trainer.history = [{"step": 50, "train_loss": 2.0, "val_loss": 2.1, "lr": 1e-3, "elapsed_s": 120.0}]
    assert plot.eta() == pytest.approx(300 - 30 - 90)


def test_status_line_of_a_budget_run_shows_the_clock():
    line = status_line(OVERFITTING, max_iters=5000, eta=12.0, budget_s=300.0)
    assert line.startswith("step 70 at 7s/5m 00s |") and "ETA 12s" in line


def test_status_line_names_sweet_spot_and_overfitting():
    line = status_line(OVERFITTING, max_iters=100, eta=12.0, patience=3)
    assert "step 70/100" in line and "ETA 12s" in line and "7.0k tok/s" in line
    assert "sweet spot: val 2.5000 @ step 30" in line
    assert "overfitting since step 40" in line
    assert "overfitting" not in status_line(OVERFITTING[:4], max_iters=100, eta=None)


def test_schedule_curve_is_the_trainers_schedule(corpus, tiny_model):
    cfg = TrainConfig(max_iters=1000, warmup_iters=100, learning_rate=1e-3, min_lr=1e-4, compile=False)
    trainer = Trainer(tiny_model, corpus, cfg)
    steps, lrs, unit = schedule_curve(trainer)
    assert unit == "step" and steps[0] == 0 and steps[-1] == 1000
    assert max(lrs) == pytest.approx(1e-3, rel=0.02) and lrs[-1] == pytest.approx(1e-4)
    assert lrs == [lr_at(s, cfg) for s in steps]


def test_schedule_curve_of_a_budget_run_is_drawn_against_minutes(corpus, tiny_model):
    cfg = TrainConfig(budget_minutes=5, learning_rate=1e-3, warmup_fraction=0.1, compile=False)
    trainer = Trainer(tiny_model, corpus, cfg)
    trainer.eval_times_s = [12.0]  # the final evaluation is expected to take 12 seconds
    minutes, lrs, unit = schedule_curve(trainer)
    assert unit == "minutes" and minutes[0] == 0 and minutes[-1] == 5.0
    assert minutes[-2] == pytest.approx(4.8) and lrs[-2] == lrs[-1] == pytest.approx(1e-4)  # floor by then
    assert minutes[lrs.index(max(lrs))] == pytest.approx(0.48, abs=0.03)  # warm-up: a tenth of the 4.8 min


def test_static_plot_still_works_and_marks_overfitting(tmp_path):
    fig = plot_history(OVERFITTING, tmp_path / "loss.png")
    assert (tmp_path / "loss.png").stat().st_size > 0
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any("sweet spot" in t for t in texts) and any("overfitting" in t for t in texts)


def test_static_plot_leaves_no_pyplot_figure_open(tmp_path):
    import matplotlib.pyplot as plt

    open_before = plt.get_fignums()
    for i in range(3):  # a notebook cell re-run, or a script plotting several runs
        plot_history(OVERFITTING, tmp_path / f"loss{i}.png")
    assert plt.get_fignums() == open_before


def test_draw_before_training_shows_empty_panels_waiting_for_the_first_evaluation():
    earlier = OVERFITTING[:3]
    for plot in (LiveLossPlot(), LiveLossPlot(overlay={"earlier run": earlier})):
        fig = plot.draw()
        ax_loss, ax_lr, ax_speed = fig.axes
        assert ax_loss.get_title() == "waiting for the first evaluation"
        assert ax_lr.get_lines() == [] and ax_speed.get_title() == "tokens/s"
        plot.update()  # and a redraw request before training is a no-op, not an error
    assert [list(line.get_ydata()) for line in ax_loss.get_lines()][:1] == [[r["train_loss"] for r in earlier]]


def test_bad_overlay_is_a_workshop_error():
    with pytest.raises(WorkshopError, match="overlay must be a dict"):
        LiveLossPlot(overlay=[1, 2])
    with pytest.raises(WorkshopError, match="mode="):
        LiveLossPlot(mode="pixels")


# ---- attached to a real run -------------------------------------------------------------------
def tiny_run(corpus, callbacks, max_iters=20):
    model = GPT(GPTConfig(vocab_size=corpus.tokenizer.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=16))
    cfg = TrainConfig(
        batch_size=4, max_iters=max_iters, eval_interval=5, eval_iters=2, warmup_iters=2, progress=False, compile=False
    )
    return Trainer(model, corpus, cfg, callbacks=callbacks)


def test_text_mode_prints_one_line_per_evaluation(corpus, capsys):
    plot = LiveLossPlot(mode="text")
    history = tiny_run(corpus, [plot]).fit()
    out = capsys.readouterr().out.splitlines()
    assert len(plot.lines) == len(history) + 1  # one per evaluation, plus the final summary
    assert out == plot.lines
    assert out[-1].startswith("done at step 20/20 (max_iters reached)")
    assert "sweet spot" in out[-1] and "tok/s" in out[-1]


def test_figure_mode_redraws_one_figure_with_the_runs_data(corpus):
    earlier = {"dropout 0": OVERFITTING}
    plot = LiveLossPlot(mode="figure", overlay=earlier, label="dropout 0.2", log_scale=True)
    history = tiny_run(corpus, [plot]).fit()
    assert plot.redraws == len(history) + 1  # every evaluation, then the final figure
    assert plot.png.startswith(b"\x89PNG")
    ax_loss, ax_lr, ax_speed = plot.figure.axes
    lines = {line.get_label(): line for line in ax_loss.lines}
    assert list(lines["dropout 0.2 val"].get_ydata()) == [r["val_loss"] for r in history]
    assert list(lines["dropout 0 train"].get_xdata()) == [r["step"] for r in OVERFITTING]
    assert ax_loss.get_yscale() == "log"
    best = best_point(history)
    texts = [t.get_text() for t in ax_loss.texts]
    assert f"sweet spot: best val {best['val_loss']:.3f}" in texts
    assert any("overfitting" in t for t in texts)  # from the overlaid run
    assert ax_loss.get_title().startswith("done at step 20/20")
    assert "learning rate" in ax_lr.get_title()
    speeds = ax_speed.lines[0].get_ydata()
    assert len(speeds) == len(history) - 1 and all(math.isfinite(s) and s > 0 for s in speeds)


def test_outside_a_notebook_auto_mode_falls_back_to_text(corpus, capsys):
    plot = LiveLossPlot()
    tiny_run(corpus, [plot], max_iters=5).fit()
    assert plot.redraws == 0 and plot.lines
    assert "step 5/5" in capsys.readouterr().out


@pytest.mark.slow
def test_in_a_kernel_the_plot_is_one_image_updated_in_place(corpus_path, tmp_path):
    """Run in a real Jupyter kernel: the cell ends with exactly one PNG (not one per evaluation),
    and that PNG is kept in the saved notebook (the final static figure)."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    repo = Path(__file__).resolve().parents[1]
    code = f"""
import sys; sys.path.insert(0, {str(repo)!r})
from helpers import Corpus, GPT, GPTConfig, TrainConfig, Trainer
from helpers.live import LiveLossPlot
corpus = Corpus.load({str(corpus_path)!r})
model = GPT(GPTConfig(vocab_size=corpus.tokenizer.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=16))
plot = LiveLossPlot()
cfg = TrainConfig(batch_size=4, max_iters=20, eval_interval=5, eval_iters=2, warmup_iters=2, progress=False)
history = Trainer(model, corpus, cfg, callbacks=[plot]).fit()
print("redraws", plot.redraws)
"""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    outputs = nb.cells[0].outputs
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 1, [o.get("output_type") for o in outputs]
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "redraws 6" in text  # 5 evaluations + the final figure, all into that one image
    path = tmp_path / "saved.ipynb"
    nbformat.write(nb, path)
    saved = nbformat.read(path, as_version=4)
    assert sum("image/png" in o.get("data", {}) for o in saved.cells[0].outputs) == 1


def test_figure_and_text_of_a_budget_run_follow_the_clock(corpus, capsys):
    from test_time_budget import budget_run

    plot = LiveLossPlot(mode="figure")
    trainer = budget_run(corpus, minutes=0.1)  # a fake clock: 6 s of simulated training
    trainer.callbacks.append(plot)
    history = trainer.fit()
    ax_loss, ax_lr, _ = plot.figure.axes
    assert ax_loss.get_title().startswith(f"done at step {trainer.step} (time budget spent: 6s)")
    assert ax_lr.get_xlabel() == "minutes" and "by the clock" in ax_lr.get_title()
    curve, now = ax_lr.lines
    assert curve.get_xdata()[-1] == pytest.approx(0.1) and curve.get_ydata()[-1] == pytest.approx(3e-4)
    assert list(now.get_xdata()) == [pytest.approx(history[-1]["elapsed_s"] / 60)]
    assert list(now.get_ydata()) == [trainer.cfg.min_lr]  # the final evaluation, at the floor

    text = LiveLossPlot(mode="text")
    trainer = budget_run(corpus, minutes=0.1)
    trainer.callbacks.append(text)
    trainer.fit()
    assert text.lines[1].startswith("step ") and "/6s |" in text.lines[1]
    assert "ETA" in text.lines[1]


@pytest.mark.parametrize("height", [0.0, 0.5])
def test_the_schedule_of_an_extended_run_is_drawn_over_the_whole_run(tmp_path, height):
    """A finished run given more steps: the plot's schedule covers steps before the extension too (it asked
    the extension for them and divided by zero), and the rate after it is the extension's."""
    from test_checkpoint import tiny_trainer

    tiny_trainer(tmp_path, max_iters=4).fit()
    trainer = tiny_trainer(tmp_path, max_iters=8, extend_height=height).resume()
    assert trainer.rewarm is not None and trainer.rewarm.step == 4
    steps, lrs, unit = schedule_curve(trainer)
    assert unit == "step" and steps[0] == 0 and steps[-1] == 8
    assert all(math.isfinite(lr) and lr >= 0 for lr in lrs)
    assert [lr for s, lr in zip(steps, lrs) if s >= 4] == [trainer.lr_for(s) for s in steps if s >= 4]
    plot = LiveLossPlot(mode="figure")  # draws the figure, as in a notebook
    trainer.callbacks.append(plot)
    trainer.fit()  # draws at each evaluation and at the end
    assert plot.redraws > 0 and trainer.step == 8
