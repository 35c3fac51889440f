"""From GPT-2 to today's models, measured: val loss at the same wall-clock budget (issue 21, notebook 10).

    python benchmarks/bench_modern.py table --seconds 60 --seeds 0 1 --jobs 2 --launcher /work/wt/bin/cpu
    python benchmarks/bench_modern.py compare --seconds 300 --seeds 0 1 --jobs 2 --launcher /work/wt/bin/cpu

`table`: the GPT-2 shape (the laptop preset's model), each change of helpers.ablation.CHANGES alone, then the
changes that won (mean val loss lower by more than the seed spread) all together, each for `--seconds` of
training time and every seed. Training time is CPU time of the run's process (time.process_time): run with one
thread each (OMP_NUM_THREADS=1, what the CPU-slot wrapper sets), it is the wall-clock budget of an idle
machine, and other load on a shared machine cannot shorten one variant's run more than another's. `compare`: the GPT-2 shape against the best variant of the recorded table at a
longer budget. Each run is its own process (its peak memory is its own), started through `--launcher` (e.g.
a CPU-slot wrapper that sets one thread), at most `--jobs` at a time. The val loss is exact (whole val
split). Results go to benchmarks/modern_ablation.json (machine, date, load, command included), which
notebook 10 reads in smoke mode; copy the printed table into benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import records  # noqa: E402  (benchmarks/ is on the path when a script in it runs)
import torch  # noqa: E402

from helpers import Corpus  # noqa: E402
from helpers.ablation import BASELINE, CHANGES, RECORDED, WINS, format_table, run_variant, summarise, wins  # noqa: E402


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run_one(args) -> int:
    """The child: one variant, one seed; prints its measurements as one JSON line."""
    changes = [c for c in args.changes.split(",") if c and c != BASELINE]
    started, cpu_started = time.perf_counter(), time.process_time()
    result = run_variant(Corpus.load(), changes, args.seconds, args.seed, clock=time.process_time)
    result["wall_s"], result["cpu_s"] = time.perf_counter() - started, time.process_time() - cpu_started
    print(json.dumps({**result, "label": args.label, "threads": torch.get_num_threads()}), flush=True)
    return 0


def launch(args, label: str, changes: list[str], seed: int, seconds: float) -> dict:
    command = [
        *shlex.split(args.launcher),
        sys.executable,
        __file__,
        "run",
        "--label",
        label,
        "--changes",
        ",".join(changes) or BASELINE,
        "--seed",
        str(seed),
        "--seconds",
        str(seconds),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{label} seed {seed} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(
        f"  {label:>12s} seed {seed}: val {result['val_loss']:.4f}, {result['steps']} steps, "
        f"{result['tokens_per_s']:,.0f} tokens/s (CPU time), {result['threads']} thread(s), "
        f"wall {result['wall_s']:.0f} s for {result['cpu_s']:.0f} CPU s",
        flush=True,
    )
    return result


def run_all(args, variants: dict[str, list[str]], seconds: float) -> list[dict]:
    jobs = [(label, changes, seed) for seed in args.seeds for label, changes in variants.items()]
    with ThreadPoolExecutor(args.jobs) as pool:
        return list(pool.map(lambda job: launch(args, *job, seconds), jobs))


def record(key: str, payload: dict) -> None:
    records.record(
        RECORDED,
        key,
        payload,
        about="Written by benchmarks/bench_modern.py: val loss at the same wall-clock budget, GPT-2 shape vs today's "
        "changes (helpers.ablation). Notebook 10 reads it in smoke mode. Details: benchmarks/RESULTS.md.",
    )


def machine() -> str:
    return f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), torch {torch.__version__}"


def measure(args, key: str, variants: dict[str, list[str]], seconds: float, more=None) -> dict:
    start, load_before = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), load_average()
    print(f"{key}: {len(variants)} variants × {len(args.seeds)} seeds × {seconds:g} s (load {load_before})")
    runs = run_all(args, variants, seconds)
    if more is not None:  # a second round chosen from the first round's results (the wins together)
        extra = more(summarise(runs))
        if extra:
            runs += run_all(args, extra, seconds)
    table = summarise(runs)
    payload = {
        "seconds": seconds,
        "seeds": args.seeds,
        "command": "python " + " ".join(shlex.quote(a) for a in [f"benchmarks/{Path(__file__).name}", *sys.argv[1:]]),
        "machine": machine(),
        "date": start,
        "load_before": load_before,
        "load_after": load_average(),
        "table": table,
        "runs": runs,
    }
    record(key, payload)
    print(format_table(table))
    print(f"load average before {load_before}, after {payload['load_after']}; written to {RECORDED}")
    return payload


def table(args) -> int:
    singles = {name: ([] if name == BASELINE else [name]) for name in CHANGES}

    def together(summary):
        won = wins(summary)
        print(f"wins at {args.seconds:g} s: {', '.join(won) or 'none'}")
        return {WINS: won} if len(won) > 1 else {}

    measure(args, f"table_{args.seconds:g}s", singles, args.seconds, more=together)
    return 0


def compare(args) -> int:
    recorded = json.loads(RECORDED.read_text())[args.against]["table"]
    best = min((label for label in recorded if label != BASELINE), key=lambda label: recorded[label]["val_loss"])
    print(f"best variant of {args.against}: {best} ({', '.join(recorded[best]['changes'])})")
    measure(args, f"compare_{args.seconds:g}s", {BASELINE: [], best: recorded[best]["changes"]}, args.seconds)
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python benchmarks/bench_modern.py", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="what", required=True)
    one = sub.add_parser("run", help="one variant, one seed (what the others start)")
    one.add_argument("--label", required=True)
    one.add_argument("--changes", required=True, help=f"comma-separated names from {', '.join(CHANGES)}")
    one.add_argument("--seed", type=int, required=True)
    one.add_argument("--seconds", type=float, required=True)
    for name in ("table", "compare"):
        q = sub.add_parser(name)
        q.add_argument("--seconds", type=float, default=60 if name == "table" else 300)
        q.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
        q.add_argument("--jobs", type=int, default=1, help="runs at a time")
        q.add_argument("--launcher", default="", help="a command each run is started through (e.g. a CPU-slot wrapper)")
        if name == "compare":
            q.add_argument("--against", default="table_60s", help="the recorded table whose best variant to compare")
    args = p.parse_args(argv)
    return {"run": run_one, "table": table, "compare": compare}[args.what](args)


if __name__ == "__main__":
    raise SystemExit(main())
