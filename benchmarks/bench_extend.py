"""Does extending a finished run hurt? A straight run against a finished run given more steps, in one run.

    python benchmarks/bench_extend.py                 # laptop preset: 700 steps, then extended to 1400
    python benchmarks/bench_extend.py --steps 700 --extend-to 1050 --json runs/extend.json

Ways to reach the same number of steps from the same seed, on the same batches:
  straight      one run of --extend-to steps
  jump          the finished run resumed with max_iters raised, straight onto the longer run's schedule: from
                the floor to the middle of its cosine (what the trainer did first)
  climb to it   the same, but climbing from the floor onto the longer schedule over one warm-up (the
                re-warm of the session before this design)
  h H, r R      helpers.schedule.Rewarm with height H and ramp R: from the floor, climb over R of the added
                steps to H of the schedule's height above the floor, then half a cosine down to the floor
                again. h 0 never climbs: it holds the floor over R, then anneals to a tenth of it; with the
                trainer's settings (TrainConfig.extend_height, schedule.EXTEND_RAMP) it is marked default.
  --anneal      also two schedules that never raise the rate: staying at the floor, and annealing from
                the floor to a tenth of it over all the added steps (AnnealBelowFloor)
The val loss is exact (whole val split) and measured every --probe steps for the first --probe-for steps after
the resume, then every 2 × --probe: "no worse on the way" is observed at each of those steps, not inferred.
The figures depend on the settings only, not on the load (same seed, same batches, one thread).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from helpers import Corpus, TrainConfig, Trainer, get_preset, lr_at  # noqa: E402
from helpers.schedule import EXTEND_HEIGHT, EXTEND_RAMP, Rewarm, cosine  # noqa: E402
from helpers.trainer import Callback  # noqa: E402


@dataclass(frozen=True)
class ClimbOntoSchedule:
    """The earlier re-warm: a ramp from the floor to the peak over one warm-up, capped by the longer schedule."""

    step: int
    from_lr: float

    def lr(self, cfg, step: int, fraction=None) -> float:
        ramp = (step - self.step + 1) / max(1, cfg.warmup_iters)
        return min(lr_at(step, cfg), self.from_lr + (cfg.learning_rate - self.from_lr) * min(ramp, 1.0))

    def as_dict(self) -> dict:  # what a checkpoint keeps
        return {"step": self.step, "from_lr": self.from_lr}


@dataclass(frozen=True)
class AnnealBelowFloor:
    """Never raise the rate: hold the floor for `hold` of the added steps, then half a cosine down to
    `end` × the floor (hold 1: stay at the floor)."""

    step: int
    from_lr: float
    hold: float
    end: float

    def lr(self, cfg, step: int, fraction=None) -> float:
        done = (step - self.step) / max(1, cfg.max_iters - self.step)
        if done < self.hold or self.hold >= 1:
            return cfg.min_lr
        return cosine((done - self.hold) / (1 - self.hold), cfg.min_lr, self.end * cfg.min_lr)

    def as_dict(self) -> dict:
        return {"step": self.step, "from_lr": self.from_lr}


ANNEALS = {"stay at the floor": (1.0, 1.0), "anneal to floor/10": (0.0, 0.1)}


class Probe(Callback):
    """The exact val loss after the given steps, outside the trainer's own evaluations (no checkpoints)."""

    def __init__(self, steps):
        self.steps, self.val = set(steps), {}

    def on_step(self, trainer, step):
        if step in self.steps:
            self.val[step] = trainer.full_split_loss("val")
            trainer.model.train()


def trainer_for(preset, corpus, out_dir: Path, max_iters: int, callbacks=()) -> Trainer:
    cfg = TrainConfig(
        **{**preset.train, "max_iters": max_iters, "val_full_split": True},
        out_dir=str(out_dir),
        progress=False,
        compile=False,
    )
    return Trainer(preset.build_model(corpus.tokenizer.vocab_size, cfg.seed), corpus, cfg, callbacks=callbacks)


def parse_design(text: str) -> tuple[float, float]:
    height, ramp = (float(x) for x in text.split(","))
    return height, ramp


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="laptop")
    p.add_argument("--steps", type=int, default=700, help="the first, finished run")
    p.add_argument("--extend-to", type=int, default=1400, help="the total after extending")
    p.add_argument("--probe", type=int, default=25, help="steps between val losses after the resume")
    p.add_argument("--probe-for", type=int, default=300, help="probe every --probe steps this long, then half as often")
    p.add_argument(
        "--designs", nargs="*", type=parse_design, metavar="HEIGHT,RAMP",
        default=[(0.1, 0.25), (0.25, 0.25), (0.45, 0.25), (0.25, 0.5), (0.45, 0.5), (1.0, 0.5)],
        help="Rewarm settings to measure beside the default (height, ramp share of the added steps)",
    )  # fmt: skip
    p.add_argument("--anneal", action="store_true", help="also measure schedules that anneal below the floor")
    p.add_argument("--no-reference", action="store_true", help="leave out the jump, the climb and the default")
    p.add_argument("--json", type=Path, help="also write every val loss here")
    args = p.parse_args(argv)
    _, preset = get_preset(args.preset)
    corpus = Corpus.load()
    start, end = args.steps, args.extend_to
    probes = sorted({*range(start + args.probe, min(end, start + args.probe_for) + 1, args.probe)}
                    | {*range(start + args.probe_for, end + 1, 2 * args.probe)} | {end})  # fmt: skip
    designs = list(dict.fromkeys([*([] if args.no_reference else [(EXTEND_HEIGHT, EXTEND_RAMP)]), *args.designs]))
    reference = [] if args.no_reference else ["jump", "climb to it"]
    started = time.perf_counter()
    runs: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        probe = Probe(probes)
        straight = trainer_for(preset, corpus, tmp / "straight", end, [probe])
        straight.fit()
        runs["straight"] = {"final": straight.history[-1]["val_loss"], "val": probe.val}
        first = trainer_for(preset, corpus, tmp / "first", start)
        first.fit()
        finished = first.history[-1]["val_loss"]
        runs["first"] = {"final": finished, "val": {}}
        for name in (*reference, *(f"h {h:g}, r {r:g}" for h, r in designs), *(ANNEALS if args.anneal else ())):
            run = tmp / name.replace(" ", "_").replace(",", "").replace("/", "_")
            run.mkdir()
            for f in (tmp / "first").iterdir():
                if f.is_file():
                    (run / f.name).write_bytes(f.read_bytes())
            probe = Probe(probes)
            trainer = trainer_for(preset, corpus, run, end, [probe])
            torch.manual_seed(0)
            trainer.resume()
            if name == "jump":
                trainer.rewarm = None
            elif name in ANNEALS:
                trainer.rewarm = AnnealBelowFloor(trainer.step, trainer.rewarm.from_lr, *ANNEALS[name])
            elif name == "climb to it":
                trainer.rewarm = ClimbOntoSchedule(trainer.rewarm.step, trainer.rewarm.from_lr)
            else:
                h, r = designs[[f"h {h:g}, r {r:g}" for h, r in designs].index(name)]
                trainer.rewarm = Rewarm(trainer.step, 0.0, trainer.rewarm.from_lr, height=h, ramp=r)
            lrs = [trainer.lr_for(s) for s in range(start, end)]
            trainer.fit()
            runs[name] = {"final": trainer.history[-1]["val_loss"], "val": probe.val, "top_lr": max(lrs)}
            print(f"  {name}: {runs[name]['final']:.4f} ({time.perf_counter() - started:.0f}s)", flush=True)
    default = f"h {EXTEND_HEIGHT:g}, r {EXTEND_RAMP:g}"
    print(f"\npreset {args.preset}: {start} steps, then extended to {end}; exact val loss (whole split)")
    print(f"finished run ({start} steps): {finished:.4f}; straight run ({end} steps): {runs['straight']['final']:.4f}")
    names = [n for n in runs if n != "first"]
    print("\n| run | top lr after the resume | final val | vs finished | vs straight | highest val after the resume |")
    print("|---|---|---|---|---|---|")
    for name in names:
        r = runs[name]
        worst = max(r["val"].values())
        label = f"{name} (default)" if name == default else name
        top = f"{r['top_lr']:.1e}" if "top_lr" in r else ""
        print(
            f"| {label} | {top} | {r['final']:.4f} | {r['final'] - finished:+.4f} | "
            f"{r['final'] - runs['straight']['final']:+.4f} | {worst:.4f} ({worst - finished:+.4f}) |"
        )
    print("\nval loss at each probe after the resume (finished run: " + f"{finished:.4f})")
    print("| step | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for step in probes:
        print(f"| {step} | " + " | ".join(f"{runs[n]['val'][step]:.4f}" for n in names) + " |")
    print(f"took {time.perf_counter() - started:.0f}s")
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)}, "runs": runs}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
