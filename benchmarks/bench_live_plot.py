"""How live the live plot is, and what it costs: the laptop preset trained with and without it.

    python benchmarks/bench_live_plot.py                 # laptop preset, runs/bench_live_plot/*.png
    python benchmarks/bench_live_plot.py --preset smoke  # seconds, to try the script

Same preset, same seed, one process: a run without the plot (the baseline), then one with
`LiveLossPlot(mode="figure")`, twice, interleaved (the machine's load drifts between runs), which draws and renders every PNG a notebook would show (only the
display message is missing: outside a kernel there is nowhere to send it). Prints the redraws at
evaluations and between them, the seconds spent drawing (timed by the plot's own pacer), their share
of the run, and the ratio of the two runs' times. Also saves the plot as it looked a third of the way
through and at the end, to look at.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from helpers import Corpus, TrainConfig, Trainer, get_preset  # noqa: E402
from helpers.live import LiveLossPlot  # noqa: E402


def run(preset, corpus, callbacks) -> tuple[float, Trainer]:
    cfg = TrainConfig(**{**preset.train, "progress": False, "compile": False})
    model = preset.build_model(corpus.tokenizer.vocab_size, cfg.seed)
    trainer = Trainer(model, corpus, cfg, callbacks=callbacks)
    start = time.perf_counter()
    trainer.fit()
    return time.perf_counter() - start, trainer


class SaveOneThird:
    """Keeps the PNG shown once a third of the steps are done (what a learner sees mid-run)."""

    def __init__(self, plot: LiveLossPlot, path: Path):
        self.plot, self.path, self.saved = plot, path, False

    def on_train_start(self, trainer): ...
    def on_eval(self, trainer, record): ...
    def on_train_end(self, trainer): ...

    def on_step(self, trainer, step):
        if not self.saved and step >= trainer.cfg.max_iters // 3 and self.plot.png:
            self.path.write_bytes(self.plot.png)
            self.saved = True


def draw_costs(evaluations: int = 6, between: int = 4) -> None:
    """Time the plot's own draws on a made-up run (no training: seconds, on any machine)."""
    from types import SimpleNamespace

    history = [
        {
            "step": 175 * i,
            "train_loss": 4.2 - 0.4 * i,
            "val_loss": 4.2 - 0.35 * i,
            "lr": 1e-3,
            "tokens_per_s": 4e4,
            "elapsed_s": 10.0 * i,
        }
        for i in range(evaluations)
    ]
    trainer = SimpleNamespace(
        cfg=TrainConfig(max_iters=175 * evaluations, eval_interval=175),
        history=[],
        step=0,
        stopped_because="",
        train_loss=None,
    )
    plot = LiveLossPlot(mode="figure")
    plot.on_train_start(trainer)
    full, fast = [], []
    for record in history:
        trainer.history.append(record)
        trainer.step = record["step"]
        began = time.perf_counter()
        plot.update()
        full.append(time.perf_counter() - began)
        for _ in range(between):
            trainer.step += 10
            plot.running.add(trainer.step, record["train_loss"] - trainer.step / 5000)
            began = time.perf_counter()
            plot._redraw_running()
            fast.append(time.perf_counter() - began)
    firsts, others = fast[::between], [t for i, t in enumerate(fast) if i % between]
    print(f"full figure at an evaluation: {1000 * statistics.median(full):.0f} ms (median of {len(full)})")
    print(
        f"between evaluations: {1000 * statistics.median(others):.0f} ms (median of {len(others)}); the first "
        f"after each evaluation, which renders the background: {1000 * statistics.median(firsts):.0f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="laptop")
    parser.add_argument("--out", default="runs/bench_live_plot")
    parser.add_argument("--rounds", type=int, default=2, help="pairs of runs, without and with the plot, interleaved")
    parser.add_argument("--draws-only", action="store_true", help="only time the draws on a made-up run")
    args = parser.parse_args()
    if args.draws_only:
        draw_costs()
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    _, preset = get_preset(args.preset)
    corpus = Corpus.load()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; preset {args.preset}", flush=True)

    for round_ in range(1, args.rounds + 1):
        baseline_s, _ = run(preset, corpus, [])
        plot = LiveLossPlot(mode="figure")
        plotted_s, trainer = run(preset, corpus, [plot, SaveOneThird(plot, out / "one_third.png")])
        pacer = plot.pacer
        print(
            f"round {round_}: without the plot {baseline_s:.1f} s, with it {plotted_s:.1f} s "
            f"(ratio {plotted_s / baseline_s:.3f}); {trainer.step} steps"
        )
        print(
            f"  redraws: {plot.redraws} at evaluations and the end, {plot.running_redraws} between evaluations "
            f"= {plot.redraws + plot.running_redraws}"
        )
        by_kind = ", ".join(f"{kind} {pacer.spent_by_kind[kind]:.2f} s / {pacer.counts[kind]}" for kind in pacer.counts)
        print(
            f"  drawing: {pacer.spent_s:.2f} s = {100 * pacer.spent_s / plotted_s:.1f}% of the run with the plot "
            f"({by_kind})",
            flush=True,
        )
    (out / "final.png").write_bytes(plot.png)
    print(f"images: {out / 'one_third.png'}, {out / 'final.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
