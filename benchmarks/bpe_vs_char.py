"""Characters against byte-pair encoding on tiny Shakespeare: compression, tokenizer speed, and bits per
character of models trained with the same FLOPs. Everything it reports is measured in this run.

    python benchmarks/bpe_vs_char.py                       # laptop preset, 700 steps of the character model
    python benchmarks/bpe_vs_char.py --steps 2100          # three times the compute for every model
    python benchmarks/bpe_vs_char.py --sizes 256 512 1024 2048

Tokenizer speed: training with helpers' incremental trainer against the plain one of notebook 08 (recount
every pair at every merge), and encoding with tiktoken against the hand-written encoder; each as a ratio.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import time
from collections import Counter
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from helpers import BPETokenizer, CharTokenizer, get_preset, load_text, pick_device  # noqa: E402
from helpers.bpe import PATTERN, encode_chunk  # noqa: E402
from helpers.compare import sample_chars, train_same_flops  # noqa: E402
from helpers.data import split_text  # noqa: E402


def plain_train(text: str, vocab_size: int) -> dict[bytes, int]:
    """Notebook 08's trainer: all pairs counted again at every merge (the baseline for training speed)."""
    counts = Counter(chunk.encode("utf-8") for chunk in re.findall(PATTERN, text))
    ranks = {bytes([b]): b for b in range(256)}
    parts = {chunk: [bytes([b]) for b in chunk] for chunk in counts}
    while len(ranks) < vocab_size:
        pairs = Counter()
        for chunk, tokens in parts.items():
            for pair in zip(tokens, tokens[1:]):
                pairs[pair] += counts[chunk]
        a, b = min(pairs, key=lambda pair: (-pairs[pair], pair))
        ranks[a + b] = len(ranks)
        parts = {c: encode_chunk(c, ranks) if a + b in c else t for c, t in parts.items()}
    return ranks


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="laptop")
    p.add_argument("--steps", type=int, default=None, help="steps of the character model (default: the preset's)")
    p.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024], help="BPE vocabulary sizes to train")
    p.add_argument("--device", default="auto")
    p.add_argument("--skip-plain", action="store_true", help="skip the slow plain-trainer baseline")
    args = p.parse_args(argv)

    device = pick_device(args.device)
    preset_name, preset = get_preset(args.preset, device)
    steps = args.steps or preset.train["max_iters"]
    print(
        f"{platform.node()}: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}"
    )
    print(f"load average before: {os.getloadavg()}")
    text = load_text()
    train_text, val_text = split_text(text)

    # ---- tokenizers -----------------------------------------------------------------------------
    largest_size = max(max(args.sizes), 1024)
    largest, train_s = timed(BPETokenizer.train, train_text, largest_size)
    print(f"\nhelpers BPETokenizer.train: {largest_size} tokens in {train_s:.2f} s")
    for n in (512, 1024):
        _, seconds = timed(BPETokenizer.train, train_text, n)
        line = f"  {n} tokens: {seconds:.2f} s"
        if n == 512 and not args.skip_plain:
            plain_ranks, plain_s = timed(plain_train, train_text, n)
            assert plain_ranks == largest.truncated(n).mergeable_ranks(), "the two trainers disagree"
            line += f"; notebook 08's plain trainer {plain_s:.1f} s (same merges): helpers is {plain_s / seconds:.1f}x faster"
        print(line)
    bpe = largest.truncated(1024)
    ours, python_s = timed(bpe.encode_python, text)
    library = bpe.library_encoding()
    if library is not None:
        theirs, library_s = timed(library.encode_ordinary, text)
        assert theirs == ours, "tiktoken and the hand-written encoder disagree"
        print(
            f"encode the whole corpus at 1024 tokens: hand-written {python_s:.2f} s, tiktoken {library_s:.3f} s "
            f"(same ids): tiktoken is {python_s / library_s:.1f}x faster"
        )
    print("\ncompression on the val text (characters per token; the tokenizer learned from the train split):")
    for n in sorted({256, 512, 1024, *args.sizes}):
        print(f"  {n:5d} tokens: {len(val_text) / len(largest.truncated(n).encode(val_text)):.3f}")

    # ---- models with the same FLOPs -------------------------------------------------------------
    tokenizers = {"characters": CharTokenizer.from_text(text)} | {f"BPE {n}": largest.truncated(n) for n in args.sizes}
    print(f"\npreset {preset_name} on {device}; the character model trains {steps} steps, the others the same FLOPs")
    rows = train_same_flops(text, tokenizers, preset, steps, device=device)
    print(
        "\n| tokenizer | vocab | params | steps | train TFLOP | chars/token (val) | loss/token | bits/char (val) | train s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['name']} | {r['vocab_size']} | {r['params']:,} | {r['steps']} | {r['train_flops'] / 1e12:.2f} | "
            f"{r['chars_per_token']:.3f} | {r['loss_per_token']:.4f} | **{r['bits_per_char']:.4f}** | {r['seconds']:.0f} |"
        )
    for r in rows:
        sample = sample_chars(r["model"], r["tokenizer"], "ROMEO:\n", 300, temperature=0.8, top_k=50, seed=0)
        print(f"\n--- {r['name']} (temperature 0.8, top-k 50, seed 0) ---\n{sample}")
    print(f"\nload average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
