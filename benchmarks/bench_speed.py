"""Speed benchmark (not a test): the readable path against the fast path, in one run.

    python benchmarks/bench_speed.py                      # laptop preset, this machine's device
    python benchmarks/bench_speed.py --preset workshop    # the reference model (a GPU run)
    python benchmarks/bench_speed.py --steps 100          # throughput only, a few seconds

readable: GPTConfig(fast_attention=False), fp32 (TF32 off), eager, the plain AdamW loop.
fast:     fused scaled_dot_product_attention, the trainer's precision for this device, fused AdamW
          and torch.compile where the trainer uses them (compile time counts in time-to-target).

Both train the same model from the same seed on the same batches. They run interleaved, a chunk
of steps each in turn, so that other work on the machine slows both alike: the ratio is the
figure to trust on a busy machine. Prints tokens/s, time to the target val loss (exact, over the
whole val split), model FLOPs utilisation where the device's peak is known, and peak memory.
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from helpers import GPT, Corpus, GPTConfig, TrainConfig, Trainer, get_preset, pick_device  # noqa: E402
from helpers.compare import flops_per_token  # noqa: E402

# Dense peaks in FLOP/s, looked up by GPU name. The CPU's comes from --cpu-peak-gflops.
GPU_PEAKS = {"T4": 65e12, "A100": 312e12, "H100": 990e12, "H200": 990e12, "L4": 121e12, "A10": 125e12}
T4_PEAK_FP16 = 65e12
TARGETS = {"laptop": 1.88, "workshop": 1.47, "smoke": 3.0}


def device_peak(device: str, cpu_peak_gflops: float | None) -> tuple[float | None, str]:
    if device == "cuda":
        name = torch.cuda.get_device_name(0)
        for key, peak in GPU_PEAKS.items():
            if key in name:
                return peak, f"{name}: {peak / 1e12:.0f} TFLOP/s (16-bit tensor, dense)"
        return None, f"{name}: peak unknown"
    if device == "cpu" and cpu_peak_gflops:
        threads = torch.get_num_threads()
        return (
            threads * cpu_peak_gflops * 1e9,
            f"{threads} × {cpu_peak_gflops:.0f} GFLOP/s (fp32 per core, --cpu-peak-gflops)",
        )
    return None, f"{device}: peak unknown"


def peak_memory(device: str) -> str:
    if device == "cuda":
        return f"{torch.cuda.max_memory_allocated() / 2**30:.2f} GiB (torch.cuda.max_memory_allocated)"
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss_bytes = rss if sys.platform == "darwin" else rss * 1024  # macOS reports bytes, Linux KiB
    return f"{rss_bytes / 2**30:.2f} GiB (peak RSS of this process, both paths)"


class Path_:
    """One way of training: its trainer, its clock, and when it first reached the target."""

    def __init__(self, name, preset, corpus, device, fast: bool, max_iters: int, precision: str):
        self.name = name
        self.fast = fast
        torch.manual_seed(1337)  # both paths start from the same weights
        config = GPTConfig(vocab_size=corpus.tokenizer.vocab_size, fast_attention=fast, **preset.model)
        self.model = GPT(config)
        train = {**preset.train, "max_iters": max_iters, "val_full_split": True}
        self.trainer = Trainer(
            self.model,
            corpus,
            TrainConfig(
                **train,
                device=device,
                progress=False,
                precision=precision if fast else "fp32",
                compile="auto" if fast else False,
            ),
        )
        if not fast:  # the plain for-loop AdamW, as a first version would have it
            for group in self.trainer.optimizer.param_groups:
                group["fused"], group["foreach"] = False, False
        self.train_seconds = 0.0
        self.steady_seconds, self.steady_steps = 0.0, 0  # after the first chunk (warm-up, compile)
        self.reached_at: float | None = None
        self.evals: list[tuple[int, float, float]] = []  # (step, seconds, val loss)

    def run_chunk(self, steps: int, device: str, first: bool) -> None:
        set_tf32(device, self.fast)
        sync(device)
        start = time.perf_counter()
        for _ in range(steps):
            self.trainer._guarded_step()
            self.trainer.step += 1
        sync(device)
        spent = time.perf_counter() - start
        self.train_seconds += spent
        if not first:
            self.steady_seconds += spent
            self.steady_steps += steps

    def evaluate(self, target: float) -> float:
        loss = self.trainer.full_split_loss("val")
        self.evals.append((self.trainer.step, self.train_seconds, loss))
        if self.reached_at is None and loss <= target:
            self.reached_at = self.train_seconds
        return loss


def set_tf32(device: str, on: bool) -> None:
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = on
        torch.backends.cudnn.allow_tf32 = on


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--preset", default="laptop", choices=["laptop", "workshop", "smoke"])
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    p.add_argument("--steps", type=int, help="steps per path (default: the preset's max_iters)")
    p.add_argument("--chunk", type=int, default=50, help="steps each path runs before the other takes its turn")
    p.add_argument(
        "--eval-every", type=int, default=50, help="steps between exact val evaluations (their time is not counted)"
    )
    p.add_argument("--target", type=float, help="target val loss (default: laptop 1.88, workshop 1.47)")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"], help="the fast path's")
    p.add_argument("--threads", type=int, help="torch.set_num_threads for CPU runs")
    p.add_argument(
        "--cpu-peak-gflops",
        type=float,
        default=83.0,
        help="fp32 peak per core (thread) for MFU (default 83: the speed issue's 166 for 2 AVX-512 cores; 0 = unknown)",
    )
    p.add_argument("--only", choices=["fast", "readable"], help="run one path alone")
    p.add_argument("--corpus", default=None)
    args = p.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    name, preset = get_preset(args.preset, device)
    steps = args.steps or preset.train["max_iters"]
    eval_every = args.eval_every
    target = args.target or TARGETS[name]
    corpus = Corpus.load(args.corpus, device)
    paths = [
        Path_("readable", preset, corpus, device, fast=False, max_iters=steps, precision="fp32"),
        Path_("fast", preset, corpus, device, fast=True, max_iters=steps, precision=args.precision),
    ]
    if args.only:
        paths = [pth for pth in paths if pth.name == args.only]
    model = paths[0].model
    tokens_per_step = preset.train["batch_size"] * model.config.block_size
    fpt = flops_per_token(model)
    peak, peak_text = device_peak(device, args.cpu_peak_gflops)
    print(
        f"{platform.node()} · {platform.processor() or platform.machine()} · torch {torch.__version__} · "
        f"device {device} · threads {torch.get_num_threads()}\n"
        f"preset {name}: {model.num_params() / 1e6:.2f}M parameters, {tokens_per_step} tokens/step, "
        f"{steps} steps, target val loss {target} (exact, whole val split, every {eval_every} steps)\n"
        f"fast path: precision {paths[-1].trainer.precision}, "
        f"compiled {paths[-1].trainer._forward is not paths[-1].model}, peak {peak_text}",
        flush=True,
    )

    done = 0
    while done < steps:
        n = min(args.chunk, steps - done, eval_every - done % eval_every)
        for pth in paths:
            pth.run_chunk(n, device, first=done == 0)
        done += n
        if done % eval_every == 0 or done == steps:
            losses = "  ".join(f"{pth.name} {pth.evaluate(target):.4f} ({pth.train_seconds:.1f}s)" for pth in paths)
            print(f"step {done:5d}  val  {losses}", flush=True)

    print("\npath      tokens/s  ms/step   MFU   best val  time to target")
    rates = {}
    for pth in paths:
        rate = tokens_per_step * pth.steady_steps / max(pth.steady_seconds, 1e-9)
        rates[pth.name] = rate
        mfu = f"{100 * rate * fpt / peak:5.1f}%" if peak else "  n/a"
        best = min(loss for _, _, loss in pth.evals)
        reached = f"{pth.reached_at:.1f}s" if pth.reached_at is not None else "not reached"
        print(f"{pth.name:8s} {rate:9.0f} {1000 * tokens_per_step / rate:8.1f} {mfu}  {best:8.4f}  {reached}")
    if len(paths) == 2:
        fast, readable = paths[1], paths[0]
        print(f"\nfast / readable: {rates['fast'] / rates['readable']:.2f}× tokens/s", end="")
        if fast.reached_at and readable.reached_at:
            print(f", {readable.reached_at / fast.reached_at:.2f}× sooner to val loss {target}", end="")
        print()
    print(f"peak memory: {peak_memory(device)}")
    run_flops = fpt * tokens_per_step * steps
    if name != "workshop":
        return 0
    print(
        f"\none run of {steps} steps = {run_flops / 1e12:.1f} TFLOP; at the T4's 16-bit peak "
        f"({T4_PEAK_FP16 / 1e12:.0f} TFLOP/s) ≥ {run_flops / T4_PEAK_FP16:.1f} s; a T4 finishes in 5 minutes "
        f"at ≥ {100 * run_flops / T4_PEAK_FP16 / 300:.1f}% MFU (an estimate, not a measurement)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
