"""Tokens per second with one process and with two (torchrun, DistributedDataParallel), same global batch.

    python benchmarks/bench_distributed.py                       # laptop preset on the CPU, 2 rounds
    python benchmarks/bench_distributed.py --device cuda --nproc 4 --preset workshop   # a GPU machine

Runs `python -m helpers.train` as people run it, in turn (A B C A B C ...) so that other work on the
machine slows each alike, and reads the trainer's own tokens/s (global tokens over the training time
between evaluations; evaluation excluded; the first window, with start-up, left out). On the CPU:
    1 process, all cores' threads (OMP_NUM_THREADS unset): what one process gets from the machine
    1 process, 1 thread: one core
    N processes of 1 thread (torchrun, gloo): N cores as N processes
On CUDA: 1 process against N processes, one GPU each (NCCL).
Prints the median per setting, the ratios, and the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(setting: dict, args, folder: Path) -> tuple[float, float]:
    """One training run; returns (tokens/s, wall seconds of the whole command)."""
    out = folder / "run"
    command = [sys.executable]
    if setting["nproc"] > 1:
        command += ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={setting['nproc']}"]
    command += ["-m", "helpers.train", "--preset", args.preset, "--device", args.device, "--out", str(out)]
    command += ["--max-iters", str(args.steps), "--eval-interval", str(args.steps // 4), "--eval-iters", "1"]
    command += (
        ["--sample-tokens", "1", "--batch-size", str(args.batch_size)] if args.batch_size else ["--sample-tokens", "1"]
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    if setting["threads"]:
        env["OMP_NUM_THREADS"] = str(setting["threads"])
    began = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - began
    if result.returncode != 0:
        raise SystemExit(f"{setting['name']} failed:\n{result.stderr[-3000:]}")
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    rates = [r["tokens_per_s"] for r in records[2:]]  # records[1]'s window includes the first steps' start-up
    return statistics.mean(rates), wall


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="laptop")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--steps", type=int, default=200, help="training steps per run (4 evaluation windows)")
    p.add_argument("--batch-size", type=int, default=None, help="the global batch (default: the preset's)")
    p.add_argument("--nproc", type=int, default=2)
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()
    if args.device == "cpu":
        settings = [
            {"name": "1 process, all threads", "nproc": 1, "threads": None},
            {"name": "1 process, 1 thread", "nproc": 1, "threads": 1},
            {"name": f"{args.nproc} processes × 1 thread", "nproc": args.nproc, "threads": 1},
        ]
    else:
        settings = [
            {"name": "1 process, 1 GPU", "nproc": 1, "threads": None},
            {"name": f"{args.nproc} processes, {args.nproc} GPUs", "nproc": args.nproc, "threads": None},
        ]
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"load average before: {os.getloadavg()}")
    print(f"preset {args.preset}, device {args.device}, {args.steps} steps per run, {args.rounds} rounds")
    rates: dict[str, list[float]] = {s["name"]: [] for s in settings}
    walls: dict[str, list[float]] = {s["name"]: [] for s in settings}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            for setting in settings:
                rate, wall = run(setting, args, Path(tmp) / f"{round_}-{setting['nproc']}-{setting['threads']}")
                rates[setting["name"]].append(rate)
                walls[setting["name"]].append(wall)
                print(f"  round {round_ + 1}: {setting['name']:<26} {rate:>10,.0f} tokens/s  ({wall:.1f} s command)")
    print(f"load average after: {os.getloadavg()}")
    print("\n| setting | tokens/s (median) | runs | whole command (median) |\n|---|---|---|---|")
    for name in rates:
        print(
            f"| {name} | {statistics.median(rates[name]):,.0f} | {len(rates[name])} | {statistics.median(walls[name]):.1f} s |"
        )
    names = list(rates)
    base = statistics.median(rates[names[0]])
    for name in names[1:]:
        print(f"{name} / {names[0]}: {statistics.median(rates[name]) / base:.2f}×")
    if args.device == "cpu":
        single = statistics.median(rates[names[1]])
        print(f"{names[2]} / {names[1]}: {statistics.median(rates[names[2]]) / single:.2f}×")


if __name__ == "__main__":
    main()
