"""A live train/val loss plot that redraws one figure in place while `Trainer.fit()` runs.

    trainer = Trainer(model, corpus, cfg, callbacks=[LiveLossPlot()])
    history = trainer.fit()

It marks the best val point (the sweet spot), flags the onset of overfitting (val rising for
`patience` evaluations while train falls), and shows the learning-rate schedule, tokens/s and an
ETA. For a time-budget run (TrainConfig.budget_minutes) the ETA is the budget left on the trainer's
clock and the schedule panel is drawn against minutes. Earlier runs can be drawn too: `LiveLossPlot(overlay={"dropout 0": history0}, label="dropout 0.2")`.

How it stays portable: each redraw renders a PNG and replaces the previous one through an IPython
display handle, so it works in Jupyter, Colab (ipywidgets 7.7), VS Code and classic Notebook
without ipympl, and the last image stays in the saved notebook. Outside a notebook it prints lines.
The logic (ETA, status line; sweet spot and overfitting in plotting.py) is in plain functions.

Between evaluations it redraws too: the running training loss (smoothed and thinned, running_loss.py)
every `redraw_every_s` seconds, as long as all drawing stays under `max_draw_share` of the training time
(RedrawPacer); such a redraw draws only that curve, its value and the legend over the figure drawn at
the last evaluation (plotting.Blit), so it is cheap.
"""

from __future__ import annotations

from .plotting import best_point, draw_losses, figure_png, new_figure, overfitting_onset
from .trainer import Callback, Trainer


# ---- pure logic, testable without a screen -----------------------------------------------------
def eta_seconds(step: int, max_iters: int, start_step: int, elapsed_s: float, budget_s: float | None = None):
    """Seconds left at the pace since `start_step`; None before any step has been timed.

    With a time budget, training stops when it is spent, so never more than what is left of it.
    """
    done = step - start_step
    if done <= 0 or elapsed_s <= 0:
        return None
    eta = max(0, max_iters - step) * elapsed_s / done
    if budget_s is not None:
        eta = max(0.0, min(eta, budget_s - elapsed_s))
    return eta


def format_duration(seconds: float | None) -> str:
    """'1h 02m', '3m 05s', '12s'; '?' when unknown."""
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def format_rate(tokens_per_s: float) -> str:
    """Tokens per second, short: '850 tok/s', '45.2k tok/s', '1.3M tok/s'."""
    if tokens_per_s >= 1e6:
        return f"{tokens_per_s / 1e6:.1f}M tok/s"
    if tokens_per_s >= 1e3:
        return f"{tokens_per_s / 1e3:.1f}k tok/s"
    return f"{tokens_per_s:.0f} tok/s"


def status_line(
    history: list[dict], max_iters: int, eta: float | None, patience: int = 3, budget_s: float | None = None
) -> str:
    """One line about the latest evaluation: losses, LR, speed, ETA, sweet spot, overfitting.

    A budget run (budget_s) shows its clock against the budget instead of steps against max_iters.
    """
    if not history:
        return "waiting for the first evaluation"
    last = history[-1]
    where = (
        f"step {last['step']}/{max_iters}"
        if budget_s is None
        else f"step {last['step']} at {format_duration(last['elapsed_s'])}/{format_duration(budget_s)}"
    )
    parts = [
        where,
        f"train {last['train_loss']:.4f}",
        f"val {last['val_loss']:.4f}",
        f"lr {last['lr']:.2e}",
    ]
    if last.get("tokens_per_s"):
        parts.append(format_rate(last["tokens_per_s"]))
    parts.append(f"ETA {format_duration(eta)}")
    best = best_point(history)
    if best is not None:
        parts.append(f"sweet spot: val {best['val_loss']:.4f} @ step {best['step']}")
    onset = overfitting_onset(history, patience)
    if onset is not None:
        parts.append(f"overfitting since step {onset['step']}")
    return " | ".join(parts)


def schedule_curve(trainer: Trainer, points: int = 200) -> tuple[list[float], list[float], str]:
    """The rate `trainer` follows (a re-warm after a changed schedule included), and the x axis's unit.

    A run of steps: rate per step. A budget run: rate against minutes on the clock, the floor reached
    when the final evaluation is due.
    """
    if trainer.budget_s is None:
        stride = max(1, trainer.cfg.max_iters // points)
        steps = list(range(0, trainer.cfg.max_iters + 1, stride))
        return steps, [trainer.lr_for(s) for s in steps], "step"
    horizon_min = max(trainer.budget_s - trainer.eval_reserve_s, 0.0) / 60
    fractions = [i / points for i in range(points + 1)]
    minutes = [f * horizon_min for f in fractions] + [trainer.budget_s / 60]
    lrs = [trainer.lr_for(trainer.step, f) for f in fractions] + [trainer.cfg.min_lr]
    return minutes, lrs, "minutes"


def in_notebook() -> bool:
    """True inside a Jupyter kernel (JupyterLab, Notebook, Colab, VS Code), False in a terminal."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


# ---- the callback ------------------------------------------------------------------------------
class LiveLossPlot(Callback):
    """Redraws train/val loss, LR schedule, tokens/s and ETA at every evaluation (see module doc).

    mode: "auto" (a figure in a notebook, text lines elsewhere), "figure" or "text".
    """

    def __init__(
        self,
        log_scale: bool = False,
        overlay: dict | None = None,
        label: str | None = None,
        patience: int = 3,
        mode: str = "auto",
        redraw_every_s: float = 1.0,
        max_draw_share: float = 0.05,
    ):
        from .errors import require

        require(mode in ("auto", "figure", "text"), f"mode={mode!r} is unknown. Fix: use 'auto', 'figure' or 'text'.")
        require(
            overlay is None or (isinstance(overlay, dict) and all(isinstance(h, list) for h in overlay.values())),
            "overlay must be a dict {label: history}, e.g. {'dropout 0': history0} with history0 = trainer.fit().",
        )
        self.log_scale, self.overlay, self.label, self.patience = log_scale, dict(overlay or {}), label, patience
        self.mode = mode
        self.trainer = None
        self.figure = None  # the latest matplotlib Figure (tests read its data)
        self.png: bytes | None = None  # the latest image shown
        self.redraws = 0
        self.lines: list[str] = []  # the text lines printed (text mode)
        self._handle = None
        from .running_loss import RedrawPacer, RunningLoss

        self.running = RunningLoss()  # the smoothed training loss between evaluations
        self.pacer = RedrawPacer(redraw_every_s, max_draw_share)  # when to redraw, and the time drawing took
        self.running_redraws = 0  # redraws between evaluations (self.redraws counts those at evaluations)
        self._running_artists = None  # (axes, line, text) of the running loss in the current figure
        self._blit = None  # redraws only those over the rest of the figure (plotting.Blit)

    # what was trained so far (the trainer's history, so a resumed run shows its whole past)
    @property
    def history(self) -> list[dict]:
        return self.trainer.history if self.trainer is not None else []

    @property
    def use_figure(self) -> bool:
        return self.mode == "figure" or (self.mode == "auto" and in_notebook())

    def eta(self) -> float | None:
        """Seconds left: the budget left on the trainer's clock, or the steps left at this session's pace."""
        if self.trainer is None or not self.history:
            return None
        trainer = self.trainer
        if trainer.budget_s is not None:
            return max(0.0, trainer.budget_s - trainer.elapsed_s(shared=False))
        elapsed = trainer.local_clock() - self._started
        return eta_seconds(self.history[-1]["step"], trainer.cfg.max_iters, self._start_step, elapsed)

    # ---- Callback hooks
    def on_train_start(self, trainer) -> None:
        self.running, self._running_artists = type(self.running)(), None
        if self.use_figure:
            figure_png(new_figure(1, 1))  # matplotlib's one-off set-up (fonts), before the pacer's clock starts
        self.pacer.start()
        self.trainer, self._handle, self._finished = trainer, None, False
        self._started, self._start_step = trainer.local_clock(), trainer.step

    def on_eval(self, trainer, record: dict) -> None:
        self.pacer.timed(self.update, "eval")

    def on_step(self, trainer, step: int) -> None:
        """Take each newly logged loss; redraw the running curve when the pacer says so (figures only)."""
        if step % trainer.cfg.log_interval or trainer.train_loss is None:
            return
        self.running.add(step, trainer.train_loss)
        if self._running_artists is not None and self.use_figure and self.pacer.due():
            self.pacer.timed(self._redraw_running)

    def on_train_end(self, trainer) -> None:
        self._finished = True
        self.pacer.timed(self.update, "eval")

    # ---- drawing
    def title(self) -> str:
        history = self.history
        if not history:
            return "waiting for the first evaluation"
        cfg, last, budget = self.trainer.cfg, history[-1], self.trainer.budget_s
        if self._finished:
            took = format_duration(self.trainer.local_clock() - self._started)
            why = self.trainer.stopped_because or "stopped"
            if budget is not None:
                return f"done at step {last['step']} ({why}: {format_duration(budget)}) in {took}"
            return f"done at step {last['step']}/{cfg.max_iters} ({why}) in {took}"
        speed = f" · {format_rate(last['tokens_per_s'])}" if last.get("tokens_per_s") else ""
        where = (
            f"step {last['step']}/{cfg.max_iters}"
            if budget is None
            else f"{format_duration(self.trainer.elapsed_s(shared=False))} of {format_duration(budget)} · step {last['step']}"
        )
        return f"{where}{speed} · ETA {format_duration(self.eta())}"

    def draw(self):
        """A new Figure of the current state: losses (left), LR schedule and tokens/s (right).

        Before training starts (no trainer yet) the panels are empty, waiting for the first evaluation.
        """
        fig = new_figure(10, 4.2)
        grid = fig.add_gridspec(2, 3, left=0.07, right=0.98, bottom=0.12, top=0.92, wspace=0.45, hspace=0.6)
        ax_loss = fig.add_subplot(grid[:, :2])
        ax_lr = fig.add_subplot(grid[0, 2])
        ax_speed = fig.add_subplot(grid[1, 2])
        for name, past in self.overlay.items():
            draw_losses(ax_loss, past, label=name, log_scale=self.log_scale, patience=self.patience, faded=True)
        history = self.history
        if history:
            draw_losses(ax_loss, history, label=self.label or "", log_scale=self.log_scale, patience=self.patience)
        self._draw_running(ax_loss)
        ax_loss.set_title(self.title(), fontsize=10)

        unit = "step"
        if self.trainer is not None:
            xs, lrs, unit = schedule_curve(self.trainer)
            ax_lr.plot(xs, lrs, color="gray", linewidth=1)
            if history:  # where the run is now, on that curve
                last = history[-1]
                now, lr = (last["step"] if unit == "step" else last["elapsed_s"] / 60), last["lr"]
            else:  # before the first evaluation: where the next step starts
                now = self.trainer.step if unit == "step" else self.trainer.clock_s / 60
                lr = self.trainer.current_lr()
            ax_lr.plot([now], [lr], "o", color="tab:red", markersize=5)
        ax_lr.set_title("learning rate" + (" (by the clock)" if unit == "minutes" else ""), fontsize=9)
        ax_lr.set_xlabel(unit, fontsize=8)
        ax_lr.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
        ax_lr.tick_params(labelsize=7)

        timed = [r for r in history if r.get("tokens_per_s")]
        ax_speed.plot([r["step"] for r in timed], [r["tokens_per_s"] for r in timed], ".-", color="tab:green")
        ax_speed.set_title("tokens/s" + (f": {format_rate(timed[-1]['tokens_per_s'])}" if timed else ""), fontsize=9)
        ax_speed.set_xlabel("step", fontsize=8)
        ax_speed.tick_params(labelsize=7)
        return fig  # fixed margins, not tight_layout(): that took most of a redraw's time

    def update(self) -> None:
        """Redraw in place (notebook) or print one line (terminal)."""
        if self.trainer is None:
            return
        if not self.use_figure:
            line = status_line(
                self.history, self.trainer.cfg.max_iters, self.eta(), self.patience, self.trainer.budget_s
            )
            if self._finished:
                line = f"{self.title()} | {line}"
            self.lines.append(line)
            print(line, flush=True)
            return
        self.figure = self.draw()
        self.png = figure_png(self.figure)
        self.redraws += 1
        self._show(self.png)

    def _show(self, png: bytes) -> None:
        if not in_notebook():  # mode="figure" in a terminal: drawn (self.figure, self.png) but not shown
            return
        from IPython.display import Image, display

        image = Image(data=png, format="png")
        if self._handle is None:
            self._handle = display(image, display_id=True)
        else:
            self._handle.update(image)

    # ---- the running loss between evaluations
    def _running_text(self) -> str:
        step, loss = self.running.latest
        return f"running average: {loss:.3f} at step {step:g}"

    def _draw_running(self, ax) -> None:
        """The smoothed training loss since this fit() started, thin and grey over the evaluated curves (as a
        redraw between evaluations draws it), its latest value in a corner;
        the axes get room for the steps up to the next evaluation, so that redraws between evaluations
        move only that curve (see `_redraw_running`)."""
        self._blit = None
        if self.trainer is None:
            self._running_artists = None
            return
        name = f"{self.label} train, running average" if self.label else "train, running average"
        (line,) = ax.plot(self.running.steps, self.running.losses, color="gray", linewidth=1, alpha=0.7, zorder=2.5)
        line.set_label(name)
        text = ax.text(
            0.01,
            0.02,
            self._running_text() if len(self.running) else "",
            transform=ax.transAxes,
            fontsize=8,
            color="dimgray",
        )
        ax.legend(fontsize=8)
        ax.set_xlim(0, self._room_to(ax.get_xlim()[1]))
        if len(self.running):
            self._rescale(ax)
        self._running_artists = (ax, line, text)

    def _room_to(self, right: float) -> float:
        """The x limit that leaves room for the steps up to the next evaluation (but not past max_iters)."""
        cfg, step = self.trainer.cfg, self.trainer.step
        ahead = step + cfg.eval_interval
        return max(right, min(ahead, cfg.max_iters) if getattr(self.trainer, "budget_s", None) is None else ahead)

    @staticmethod
    def _rescale(ax) -> None:
        """Fit the y axis to the curves, with room below for the loss to keep falling until the next evaluation."""
        ax.relim()
        ax.set_autoscaley_on(True)  # a set_ylim before switched it off
        ax.autoscale_view(scalex=False)
        bottom, top = ax.get_ylim()
        if ax.get_yscale() == "log":
            ax.set_ylim(bottom / (top / bottom) ** 0.1, top)
        else:
            ax.set_ylim(bottom - 0.1 * (top - bottom), top)

    def _redraw_running(self) -> None:
        """Between evaluations: move the running curve and its value, and show the figure again.

        Only those two are drawn again (plotting.Blit); when the curve leaves the axes' limits, the axes are
        rescaled and the whole figure is drawn once more.
        """
        ax, line, text = self._running_artists
        line.set_data(self.running.steps, self.running.losses)
        text.set_text(self._running_text())
        step, loss = self.running.latest
        (left, right), (bottom, top) = ax.get_xlim(), ax.get_ylim()
        if not (left <= step <= right and bottom <= loss <= top):
            ax.set_xlim(0, self._room_to(step))
            self._rescale(ax)
            self._blit = None
        if self._blit is None:
            from .plotting import Blit

            self._blit = Blit(self.figure, [line, text, ax.get_legend()])  # in the order a full draw has
        self.png = self._blit.png()
        self.running_redraws += 1
        self._show(self.png)
