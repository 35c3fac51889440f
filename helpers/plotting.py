"""Plots of a training history: train and val loss, the best val point (the sweet spot) and the
onset of overfitting. Used by the static plot (`plot_history`) and the live one (`helpers.live`)."""

from __future__ import annotations

import io
import math


def best_point(history: list[dict]) -> dict | None:
    """The evaluation with the lowest val loss: the 'sweet spot' before overfitting."""
    finite = [r for r in history if math.isfinite(r["val_loss"])]
    return min(finite, key=lambda r: r["val_loss"]) if finite else None


def overfitting_onset(history: list[dict], patience: int = 3) -> dict | None:
    """The first evaluation of the first stretch of `patience` evaluations in a row where val loss
    rose while train loss fell: the talk's sign of overfitting. None while that has not happened."""
    streak_start, streak = None, 0
    for before, now in zip(history, history[1:]):
        if now["val_loss"] > before["val_loss"] and now["train_loss"] < before["train_loss"]:
            streak_start = now if streak == 0 else streak_start
            streak += 1
            if streak >= patience:
                return streak_start
        else:
            streak = 0
    return None


def draw_losses(
    ax, history: list[dict], label: str = "", log_scale: bool = False, patience: int = 3, faded: bool = False
) -> None:
    """Draw train and val loss of one run onto `ax` (used by the static and the live plot).

    Marks the best val point as the sweet spot, and the onset of overfitting (see `overfitting_onset`)
    with a dotted vertical line. `faded` draws an earlier run (an overlay) in lighter lines.
    """
    steps = [r["step"] for r in history]
    prefix = f"{label} " if label else ""
    alpha = 0.45 if faded else 1.0
    (train_line,) = ax.plot(steps, [r["train_loss"] for r in history], label=f"{prefix}train", alpha=alpha)
    color = train_line.get_color()
    ax.plot(steps, [r["val_loss"] for r in history], "--", color=color, label=f"{prefix}val", alpha=alpha)
    best = best_point(history)
    if best is not None:
        ax.plot([best["step"]], [best["val_loss"]], "o", color=color, markersize=8, alpha=alpha)
        ax.annotate(
            f"sweet spot: best val {best['val_loss']:.3f}",
            (best["step"], best["val_loss"]),
            textcoords="offset points",
            xytext=(5, 8),
            fontsize=8,
            color=color,
            alpha=alpha,
        )
    onset = overfitting_onset(history, patience)
    if onset is not None:
        ax.axvline(onset["step"], color=color, linestyle=":", alpha=0.8 * alpha)
        ax.annotate(
            "overfitting: val ↑ while train ↓",
            (onset["step"], onset["val_loss"]),
            textcoords="offset points",
            xytext=(5, -14),
            fontsize=8,
            color="crimson",
            alpha=alpha,
        )
    ax.set_xlabel("step")
    ax.set_ylabel("loss (log scale)" if log_scale else "loss")
    if log_scale:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def plot_history(history: list[dict], path=None, title: str = "train and val loss", log_scale: bool = False):
    """A figure of the loss curves; saved to `path` when given (e.g. runs/laptop/loss.png).

    Made outside pyplot (`new_figure`), so calling it in a loop or a long session leaks nothing.
    """
    fig = new_figure(7, 4)
    ax = fig.add_subplot()
    draw_losses(ax, history, log_scale=log_scale)
    ax.set_title(title)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=100)
    return fig


def new_figure(width: float, height: float):
    """A matplotlib Figure outside pyplot: nothing shows it behind our back (no duplicate plots
    in notebooks), and it is freed when dropped. Render it with `figure_png`."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def figure_png(fig, dpi: int = 80) -> bytes:
    """The figure as PNG bytes: what a display handle or an ipywidgets.Image shows, in any frontend."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


class Blit:
    """Show a few changing artists of a drawn figure again without drawing the rest: the figure is
    rendered once with them hidden, kept as a background, and each `png()` pastes that background and
    draws only them (matplotlib's blitting, as its animations use). Their axes' limits must not change;
    make a new Blit when they do.
    """

    def __init__(self, fig, artists, dpi: int = 80):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        fig.set_dpi(dpi)  # the size figure_png(fig, dpi) renders: the same image, only faster
        self.canvas, self.artists = FigureCanvasAgg(fig), list(artists)
        for artist in self.artists:
            artist.set_visible(False)
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(fig.bbox)
        for artist in self.artists:
            artist.set_visible(True)

    def png(self) -> bytes:
        import numpy as np
        from PIL import Image

        self.canvas.restore_region(self.background)
        for artist in self.artists:
            artist.axes.draw_artist(artist)
        buffer = io.BytesIO()
        Image.fromarray(np.asarray(self.canvas.buffer_rgba())).save(buffer, format="png")
        return buffer.getvalue()
