"""Which model learns most in N minutes on this machine? Train each setting for the same time budget.

    python benchmarks/sweep_budget.py --minutes 1 n_layer=2,n_embd=128 n_layer=3,n_embd=192,block_size=128

Each argument is one run: key=value pairs over the base preset (`--base`, default laptop-<N>min, else
laptop): model fields (n_layer, n_embd, n_head, block_size, dropout) or TrainConfig fields (batch_size,
learning_rate, warmup_fraction, eval_interval_minutes, ...). Every run is a real time-budget run
(TrainConfig.budget_minutes): warm-up and cosine decay on the clock, evaluations included in the budget,
and an exact final val loss over the whole val split. Prints one line per run, as it finishes.

Unlike a sweep over steps, the result depends on the machine's speed, so run it alone:
    flock /tmp/gpt-cpu.lock sh -c 'uptime; python benchmarks/sweep_budget.py --minutes 1 ...; uptime'
n_head defaults to n_embd // 64 (at least 2 ... at most 8 heads) when only n_embd is given.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import records  # noqa: E402
from sweep_laptop import number_or_text  # noqa: E402  (benchmarks/ is on the path when a script in it runs)

from helpers import GPT, PRESETS, Corpus, GPTConfig, TrainConfig, Trainer, pick_device  # noqa: E402

MODEL_FIELDS = set(GPTConfig.__dataclass_fields__) - {"vocab_size"}


def parse(spec: str, base: str, minutes: float) -> tuple[dict, dict]:
    model, train = dict(PRESETS[base].model), {**PRESETS[base].train, "budget_minutes": minutes}
    given = {}
    for pair in filter(None, spec.split(",")):
        key, sep, value = pair.partition("=")
        if not sep or (key not in MODEL_FIELDS and key not in TrainConfig.__dataclass_fields__):
            raise SystemExit(f"{pair!r} is not key=value with a GPTConfig or TrainConfig field")
        given[key] = number_or_text(value)
    for key, value in given.items():
        (model if key in MODEL_FIELDS else train)[key] = value
    if "n_embd" in given and "n_head" not in given:
        model["n_head"] = min(8, max(2, model["n_embd"] // 64))
    train.pop("max_iters", None)
    return model, train


RECORDED = Path(__file__).with_name("budget_sweep.json")


def run(spec: str, corpus: Corpus, base: str, minutes: float, device: str, clock=None) -> dict:
    model_cfg, train_cfg = parse(spec, base, minutes)
    torch.manual_seed(train_cfg.get("seed", 1337))
    model = GPT(GPTConfig(vocab_size=corpus.tokenizer.vocab_size, **model_cfg))
    cfg = TrainConfig(**{**train_cfg, "val_full_split": True, "progress": False, "device": device})
    trainer = Trainer(model, corpus, cfg, clock=clock)
    started = time.perf_counter()
    history = trainer.fit()
    took = time.perf_counter() - started
    tokens = trainer.step * cfg.batch_size * model.config.block_size
    return {
        "spec": spec,
        "model": model.config.to_dict(),
        "train": {k: v for k, v in train_cfg.items() if k != "budget_minutes"},
        "params": model.num_params(),
        "steps": trainer.step,
        "tokens_per_s": tokens / took,
        "fit_s": took,
        "val_loss": history[-1]["val_loss"],
        "evals": [(r["elapsed_s"], r["val_loss"], r["lr"]) for r in history[1:]],
        "eval_s": trainer.eval_reserve_s,  # a typical evaluation (what the budget held back for the final one)
        "load": os.getloadavg()[0],
    }


def line(r: dict) -> str:
    vals = " ".join(f"{val:.3f}@{at:.0f}s,lr{lr:.0e}" for at, val, lr in r["evals"])
    return (
        f"{r['spec'] or '(base)':60s} {r['params'] / 1e6:5.2f}M {r['steps']:6d} steps "
        f"{r['tokens_per_s'] / 1e3:6.1f}k tok/s  eval {r['eval_s']:4.1f}s  fit {r['fit_s']:6.1f}s  "
        f"val {r['val_loss']:.4f}  (evals: {vals})  load {r['load']:.1f}"
    )


def record(key: str, payload: dict) -> None:
    """Keep a sweep in benchmarks/budget_sweep.json (the budget presets' evidence; a test reads it)."""
    records.record(
        RECORDED,
        key,
        payload,
        about="Written by benchmarks/sweep_budget.py --record KEY: exact val loss after a time budget, one entry per "
        "setting. helpers/presets.py's budget shapes cite it; details in benchmarks/RESULTS.md.",
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, required=True)
    p.add_argument("--base", default=None, help="preset the specs start from (default laptop-<N>min, else laptop)")
    p.add_argument("--device", default="auto")
    p.add_argument(
        "--cpu-seconds",
        action="store_true",
        help="count the budget in this process's CPU seconds (time.process_time), not wall-clock ones: with one "
        "thread (OMP_NUM_THREADS=1) two runs can share a busy machine and still each get the whole budget",
    )
    p.add_argument("--record", metavar="KEY", help="also keep the results in benchmarks/budget_sweep.json under KEY")
    p.add_argument("specs", nargs="*", default=[""])
    args = p.parse_args(argv)
    base = args.base or (f"laptop-{args.minutes:g}min" if f"laptop-{args.minutes:g}min" in PRESETS else "laptop")
    device = pick_device(args.device)
    corpus = Corpus.load(device=device)
    header = (
        f"{platform.node()} · {platform.processor() or platform.machine()} · torch {torch.__version__} · "
        f"{device} · {torch.get_num_threads()} threads · {time.strftime('%Y-%m-%d %H:%M')} · "
        f"{args.minutes:g} {'CPU' if args.cpu_seconds else 'wall-clock'} min per run, base preset {base}"
    )
    print(header, flush=True)
    load_before, results = os.getloadavg()[0], []
    for spec in args.specs or [""]:
        results.append(run(spec, corpus, base, args.minutes, device, time.process_time if args.cpu_seconds else None))
        print(line(results[-1]), flush=True)
    if args.record:
        command = ["python", "benchmarks/sweep_budget.py", *(argv if argv is not None else sys.argv[1:])]
        record(
            args.record,
            dict(
                header=header,
                command=" ".join(shlex.quote(a) for a in command),
                minutes=args.minutes,
                clock="CPU seconds, 1 thread per run"
                if args.cpu_seconds
                else f"wall clock, {torch.get_num_threads()} threads",
                base=base,
                load_before=load_before,
                load_after=os.getloadavg()[0],
                runs=results,
            ),
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
