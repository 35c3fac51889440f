"""Does extending a finished run hurt? A straight run against a finished run given more steps, in one run.

    python benchmarks/bench_extend.py                 # laptop preset: 700 steps, then extended to 1400
    python benchmarks/bench_extend.py --steps 700 --extend-to 1050

Ways to reach the same number of steps from the same seed, on the same batches:
  straight   one run of --extend-to steps
  extended   a run of --steps, finished (rate at its floor), resumed with max_iters raised: the rate climbs
             back from the floor over one warm-up onto the longer run's schedule (helpers.schedule.Rewarm)
  height H   the same re-warm to a lower peak: H × the longer schedule's height above the floor
  jump       the same resume without the re-warm, as the trainer did before: the rate jumps from the floor
             to the middle of the longer run's cosine
The val loss is exact (whole val split), so the figures depend on the settings only, not on the load.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from helpers import Corpus, TrainConfig, Trainer, get_preset  # noqa: E402


def trainer_for(preset, corpus, out_dir: Path, max_iters: int) -> Trainer:
    cfg = TrainConfig(
        **{**preset.train, "max_iters": max_iters, "val_full_split": True},
        out_dir=str(out_dir),
        progress=False,
        compile=False,
    )
    return Trainer(preset.build_model(corpus.tokenizer.vocab_size, cfg.seed), corpus, cfg)


def lrs_after_resume(trainer: Trainer, n: int) -> str:
    return " ".join(f"{trainer.lr_for(trainer.step + i):.1e}" for i in range(0, n, max(1, n // 5)))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="laptop")
    p.add_argument("--steps", type=int, default=700, help="the first, finished run")
    p.add_argument("--extend-to", type=int, default=1400, help="the total after extending")
    p.add_argument(
        "--heights", type=float, nargs="*", default=[0.5, 0.25],
        help="also re-warm to these shares of the schedule's height above the floor (Rewarm.height)",
    )  # fmt: skip
    args = p.parse_args(argv)
    _, preset = get_preset(args.preset)
    corpus = Corpus.load()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        straight = trainer_for(preset, corpus, tmp / "straight", args.extend_to)
        straight.fit()
        first = trainer_for(preset, corpus, tmp / "first", args.steps)
        first.fit()
        finished = {"first": first.history[-1]["val_loss"]}
        results = {}
        for name in ("extended", *(f"height {h:g}" for h in args.heights), "jump"):
            run = tmp / name
            run.mkdir()
            for f in (tmp / "first").iterdir():
                (run / f.name).write_bytes(f.read_bytes())
            trainer = trainer_for(preset, corpus, run, args.extend_to)
            torch.manual_seed(0)
            trainer.resume()
            if name == "jump":
                trainer.rewarm = None  # the old behaviour: straight onto the longer schedule, mid-cosine
            elif name.startswith("height"):  # a re-warm to a lower peak: this share of the schedule's height
                trainer.rewarm = replace(trainer.rewarm, height=float(name.split()[1]))
            schedule = lrs_after_resume(trainer, 60)
            trainer.fit()
            after = [r for r in trainer.history if r["step"] > args.steps]
            results[name] = (trainer.history[-1]["val_loss"], after[0]["val_loss"], schedule)
    straight_val = straight.history[-1]["val_loss"]
    print(f"preset {args.preset}: {args.steps} steps, then extended to {args.extend_to} (val loss exact, whole split)")
    print(
        f"{'run':12s} {'final val':>9s} {'vs straight':>11s}  first eval after the resume; lr over its first 60 steps"
    )
    print(f"{'first':12s} {finished['first']:9.4f} {finished['first'] - straight_val:+11.4f}  (the finished run)")
    print(f"{'straight':12s} {straight_val:9.4f} {0:+11.4f}")
    for name, (final, first_after, schedule) in results.items():
        print(f"{name:12s} {final:9.4f} {final - straight_val:+11.4f}  {first_after:.4f}; {schedule}")
    print(f"took {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
