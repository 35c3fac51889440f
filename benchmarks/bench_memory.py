"""Memory over a run's length: does a training loop keep something per step?

    /work/wt/bin/cpu python benchmarks/bench_memory.py --steps 400          # both loops, one thread

Trains the GPT-2 shape of the ablation benchmark (the laptop preset's model and batch) for `--steps` steps in
each of the project's two loops, each in a fresh process: `timed_training.train_for` (what
benchmarks/bench_modern.py's children run, through helpers.ablation.run_variant) and `Trainer.fit` (what
`python -m helpers.train` runs). Ten times per run it prints the process's resident memory (RSS), glibc's heap
(in use, and free but kept by the process: malloc's own view, Linux only) and the number of live tensors.
A leak shows as in-use memory or live tensors growing with the steps; RSS growing while the heap in use stays
flat is memory freed but not given back (fragmentation), which something kept per step can still cause.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

import torch  # noqa: E402

from helpers import GPT, Callback, Corpus, GPTConfig, TrainConfig, Trainer  # noqa: E402
from helpers.ablation import gpt2_shape  # noqa: E402
from helpers.timed_training import train_for  # noqa: E402

LOOPS = ("train_for", "trainer")


class MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks")
    ] + [("keepcost", ctypes.c_size_t)]


def heap_mb() -> tuple[float, float] | None:
    """glibc's heap: (in use, free but kept) in MB; None where there is no mallinfo2 (macOS, musl, old glibc)."""
    try:
        mallinfo2 = ctypes.CDLL("libc.so.6").mallinfo2
    except (OSError, AttributeError):
        return None
    mallinfo2.restype = MallInfo2
    info = mallinfo2()
    return info.uordblks / 2**20, info.fordblks / 2**20


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmRSS"))


def live_tensors() -> int:
    return sum(1 for o in gc.get_objects() if issubclass(type(o), torch.Tensor))


def report(loop: str, step: int, started: float) -> None:
    heap = heap_mb()
    heap_text = f"heap in use {heap[0]:6.1f} MB, free but kept {heap[1]:6.1f} MB" if heap else "heap: n/a"
    print(
        f"{loop:9s} step {step:5d}: RSS {rss_mb():6.1f} MB, {heap_text}, {live_tensors():4d} live tensors "
        f"({time.perf_counter() - started:.0f} s)",
        flush=True,
    )


def run_loop(loop: str, steps: int) -> None:
    corpus, shape = Corpus.load(), gpt2_shape()
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=corpus.tokenizer.vocab_size, **shape["model"]))
    every, started = max(1, steps // 10), time.perf_counter()
    if loop == "train_for":
        generator, calls = corpus.generator(0), [0]

        def batch_loss():
            calls[0] += 1
            if calls[0] % every == 0:
                report(loop, calls[0], started)
            x, y = corpus.batch("train", shape["batch_size"], model.config.block_size, generator)
            return model(x, y)[1]

        train_for(model, batch_loss, steps=steps, learning_rate=shape["lr"])
        return

    class Report(Callback):
        def on_step(self, trainer, step):
            if step % every == 0:
                report(loop, step, started)

    cfg = TrainConfig(
        batch_size=shape["batch_size"],
        learning_rate=shape["lr"],
        max_iters=steps,
        eval_interval=max(1, steps // 2),
        val_full_split=True,
        device="cpu",
        compile=False,
        progress=False,
    )
    Trainer(model, corpus, cfg, callbacks=[Report()]).fit()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--loop", choices=LOOPS, help="one loop in this process (what the others start)")
    args = p.parse_args(argv)
    if args.loop:
        run_loop(args.loop, args.steps)
        return 0
    print(
        f"{os.cpu_count()} CPUs, torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    for loop in LOOPS:  # each in a fresh process: the peak and the heap are that loop's own
        subprocess.run([sys.executable, __file__, "--loop", loop, "--steps", str(args.steps)], check=True)
    print(f"load {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
