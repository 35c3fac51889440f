"""Exact-match accuracy of addition formats at the same training time (notebook 13's experiment, with knobs).

    python benchmarks/arithmetic_formats.py --digits 8 --batch 32 --seconds 40 --cpu-clock   # notebook 13's set-up
    python benchmarks/arithmetic_formats.py --formats reversed --lr 1e-3 --seeds 1 2 3
    python benchmarks/arithmetic_formats.py --no-pad-operands --no-pad-answer --formats plain --seconds 180

Each run trains a fresh model for the same number of seconds (training time only; evaluation pauses
the clock) and prints the held-out exact-match accuracy at each evaluation, then a table. The machine
load is printed before and after: timings on a shared machine are only comparable within one run.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.arithmetic import (  # noqa: E402
    FORMATS,
    PAD,
    TOKENIZER,
    AdditionTask,
    arithmetic_model,
    encode_batch,
    exact_match,
    exact_match_fast,
    held_out_problems,
    sample_problems,
)
from helpers.completions import IGNORE  # noqa: E402
from helpers.timed_training import train_for  # noqa: E402


def run(task, args, seed):
    model = arithmetic_model(task, n_layer=args.layers, n_head=args.heads, n_embd=args.width, seed=seed)
    test = held_out_problems(task.n_digits, args.test, seed=0)
    exclude = set(test)
    gen = torch.Generator().manual_seed(seed)

    pool = sample_problems(args.train_size, task.n_digits, gen, exclude) if args.train_size else None

    def batch_loss():
        if pool is None:
            problems = sample_problems(args.batch, task.n_digits, gen, exclude)
        else:
            problems = [pool[i] for i in torch.randint(len(pool), (args.batch,), generator=gen).tolist()]
        x, y = encode_batch(task, problems)
        if args.loss_on == "all":  # the ablation: the prompt's random digits count in the loss too
            y = torch.cat([x[:, 1:], y[:, -1:]], 1)
            y[y == TOKENIZER.stoi[PAD]] = IGNORE
        _, loss = model(x, y)
        return loss

    evaluate = lambda: {"exact": exact_match_fast(model, task, test)}
    show = lambda r: print(
        f"  {task.format:10s} seed {seed} {r['seconds']:6.1f}s step {r['step']:5d} loss {r['loss']:.3f} "
        f"lr {r['lr']:.1e} exact {r['exact']:.3f}",
        flush=True,
    )
    budget = dict(steps=args.steps) if args.steps else dict(seconds=args.seconds)
    history = train_for(
        model,
        batch_loss,
        **budget,
        learning_rate=args.lr,
        evaluate=evaluate,
        eval_every=args.eval_every,
        warmup=args.warmup,
        on_eval=show,
        clock=time.process_time if args.cpu_clock else None,
    )
    greedy = exact_match(model, task, test)
    return history, greedy


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--formats", nargs="+", default=list(FORMATS), choices=FORMATS)
    p.add_argument("--digits", type=int, default=3)
    p.add_argument("--no-pad-operands", action="store_true", help="operands without leading zeros")
    p.add_argument("--no-pad-answer", action="store_true", help="the answer without leading zeros")
    p.add_argument("--reverse-operands", action="store_true", help="operands last digit first too")
    p.add_argument("--min-lr-ratio", type=float, default=0.1, help="1.0: a constant learning rate after warm-up")
    p.add_argument("--seconds", type=float, default=100)
    p.add_argument("--steps", type=int, default=None, help="a budget in steps instead of seconds")
    p.add_argument("--eval-every", type=float, default=10, help="seconds (or steps, with --steps)")
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--warmup", type=float, default=0.05)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--seeds", type=int, nargs="+", default=[1337])
    p.add_argument("--test", type=int, default=1000)
    p.add_argument("--train-size", type=int, default=None, help="a fixed training set of this many sums")
    p.add_argument("--loss-on", choices=["completion", "all"], default="completion")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument(
        "--cpu-clock", action="store_true", help="count this process's CPU time (time.process_time), not the wall clock"
    )
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    print("load before:", os.getloadavg())
    print(" ".join(sys.argv))
    rows = []
    start = time.perf_counter()
    for fmt in args.formats:
        task = AdditionTask(fmt, args.digits, not args.no_pad_operands, not args.no_pad_answer, args.reverse_operands)
        for seed in args.seeds:
            history, greedy = run(task, args, seed)
            rows.append((fmt, seed, history[-1]["step"], history[-1]["exact"], greedy, history))
    print("load after:", os.getloadavg(), f"wall {time.perf_counter() - start:.0f}s")
    print("| format | seed | steps | exact (fast) | exact (greedy) |")
    for fmt, seed, steps, fast, greedy, _ in rows:
        print(f"| {fmt} | {seed} | {steps} | {fast:.3f} | {greedy:.3f} |")


if __name__ == "__main__":
    main()
