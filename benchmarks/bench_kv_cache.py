"""KV-cache benchmark (not a test): generation speed with and without the cache, in one run.

    python benchmarks/bench_kv_cache.py                          # workshop and laptop shapes, 500 tokens
    python benchmarks/bench_kv_cache.py --presets laptop --tokens 100 --repeats 1   # a few seconds

For each preset's model shape (untrained weights: speed does not depend on them), fp32, eval mode, batch 1,
a one-token prompt, greedy: `generate(use_cache=False)` and `generate(use_cache=True)` run in turn,
`--repeats` times, so that other work on the machine slows both alike; each path's median is reported.
A third line, "sliding cache", re-fills the cache from the last block_size tokens at every step past
block_size (what a cache must do to follow a window that slides by one token with learned positions):
the alternative that `helpers.sampling.window_start` avoids. Prints tokens/s, the ratios, and whether
the cached and uncached texts are the same.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from helpers import generate, get_preset, pick_device  # noqa: E402


@torch.no_grad()
def generate_sliding_cache(model, idx: torch.Tensor, max_new_tokens: int) -> torch.Tensor:
    """Greedy, the window sliding by one token per step: past block_size the cache is re-filled every step."""
    block_size = model.config.block_size
    kv_cache = model.new_kv_cache(idx.size(0))
    for _ in range(max_new_tokens):
        if kv_cache.length == 0 or idx.size(1) > block_size:
            kv_cache.reset()
            logits, _ = model(idx[:, -block_size:], kv_cache=kv_cache)
        else:
            logits, _ = model(idx[:, -1:], kv_cache=kv_cache)
        idx = torch.cat((idx, logits[:, -1].argmax(-1, keepdim=True)), dim=1)
    return idx


def timed(device: str, fn) -> tuple[float, torch.Tensor]:
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, out


def bench_preset(name: str, device: str, tokens: int, repeats: int, vocab_size: int) -> float:
    _, preset = get_preset(name, device)
    model = preset.build_model(vocab_size, seed=0, dropout=0.0).to(device).eval()
    cfg = model.config
    prompt = torch.zeros(1, 1, dtype=torch.long, device=device)
    paths = {
        "no cache": lambda n: generate(model, prompt, n, temperature=0, use_cache=False),
        "KV cache": lambda n: generate(model, prompt, n, temperature=0, use_cache=True),
        "sliding cache": lambda n: generate_sliding_cache(model, prompt, n),
    }
    print(
        f"\n{name}: {cfg.n_layer} layers × {cfg.n_head} heads × {cfg.n_embd} wide, context {cfg.block_size}, "
        f"{model.num_params() / 1e6:.2f}M parameters; {tokens} new tokens, {repeats} runs per path",
        flush=True,
    )
    for fn in paths.values():  # warm-up: first calls allocate and pick kernels
        fn(min(tokens, cfg.block_size + 8))
    seconds = {path: [] for path in paths}
    outputs = {}
    for _ in range(repeats):
        for path, fn in paths.items():
            spent, outputs[path] = timed(device, lambda fn=fn: fn(tokens))
            seconds[path].append(spent)
    rates = {path: tokens / statistics.median(times) for path, times in seconds.items()}
    for path, rate in rates.items():
        runs = ", ".join(f"{t:.2f}" for t in seconds[path])
        print(f"  {path:14s} {rate:8.1f} tokens/s   (seconds per run: {runs})")
    ratio = rates["KV cache"] / rates["no cache"]
    same = torch.equal(outputs["KV cache"], outputs["no cache"])
    print(
        f"  KV cache / no cache: {ratio:.2f}×   sliding cache / no cache: "
        f"{rates['sliding cache'] / rates['no cache']:.2f}×   same text with and without the cache: {same}",
        flush=True,
    )
    return ratio


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--presets", nargs="+", default=["workshop", "laptop"], choices=["workshop", "laptop", "smoke"])
    p.add_argument("--tokens", type=int, default=500, help="new tokens per generation")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per path (the median is reported)")
    p.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda", "mps"])
    p.add_argument("--threads", type=int, help="torch.set_num_threads for CPU runs")
    p.add_argument("--vocab-size", type=int, default=65, help="65: the characters of tiny Shakespeare")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    print(
        f"{platform.node()} · {platform.processor() or platform.machine()} · {os.cpu_count()} CPUs · "
        f"torch {torch.__version__} · device {device} · threads {torch.get_num_threads()} · "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        flush=True,
    )
    for name in args.presets:
        bench_preset(name, device, args.tokens, args.repeats, args.vocab_size)
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
