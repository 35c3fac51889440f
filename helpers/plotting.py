"""Static plots of a training history: train and val loss, with the best val point marked."""

from __future__ import annotations

import math


def best_point(history: list[dict]) -> dict | None:
    """The evaluation with the lowest val loss: the 'sweet spot' before overfitting."""
    finite = [r for r in history if math.isfinite(r["val_loss"])]
    return min(finite, key=lambda r: r["val_loss"]) if finite else None


def draw_losses(ax, history: list[dict], label: str = "", log_scale: bool = False) -> None:
    """Draw train and val loss of one run onto `ax` (used by the static and the live plot)."""
    steps = [r["step"] for r in history]
    prefix = f"{label} " if label else ""
    train_line, = ax.plot(steps, [r["train_loss"] for r in history], label=f"{prefix}train")
    ax.plot(steps, [r["val_loss"] for r in history], "--", color=train_line.get_color(), label=f"{prefix}val")
    best = best_point(history)
    if best is not None:
        ax.plot([best["step"]], [best["val_loss"]], "o", color=train_line.get_color(), markersize=8)
        ax.annotate(
            f"best val {best['val_loss']:.3f}", (best["step"], best["val_loss"]),
            textcoords="offset points", xytext=(5, 8), fontsize=8,
        )
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    if log_scale:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()


def plot_history(history: list[dict], path=None, title: str = "train and val loss", log_scale: bool = False):
    """A figure of the loss curves; saved to `path` when given (e.g. runs/laptop/loss.png)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    draw_losses(ax, history, log_scale=log_scale)
    ax.set_title(title)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=100)
    return fig
