"""Sample from a trained run:

python -m helpers.sample --run runs/laptop --prompt "ROMEO:" --temperature 0.7 --top-k 50 --tokens 300
"""

from __future__ import annotations

import argparse

from .checkpoint import load_model
from .device import pick_device
from .errors import cli_exit_status, require
from .sampling import check_seed, is_whole_number, sample_text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Sample text from a trained run.")
    parser.add_argument("--run", required=True, help="run folder written by helpers.train (or a .safetensors file)")
    parser.add_argument("--prompt", default="\n")
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--top-k", type=int, default=None, help="default: 50, or the vocabulary size if smaller")
    parser.add_argument("--top-p", type=float, default=None)
    parser.add_argument(
        "--tokens", type=int, default=300, help="how many tokens to generate (characters with the character tokenizer)"
    )
    parser.add_argument("--seed", type=int, default=None, help="a whole number ≥ 0: the same seed, the same text")
    parser.add_argument(
        "--no-cache", action="store_true", help="run the whole context at every step (no KV cache): same text, slower"
    )
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    args = parser.parse_args(argv)
    return cli_exit_status(lambda: print_sample(args))


def print_sample(args) -> None:
    require(
        is_whole_number(args.tokens) and args.tokens >= 0,
        f"--tokens={args.tokens} is invalid. Fix: use a whole number ≥ 0 (how many characters to add).",
    )
    check_seed(args.seed, name="--seed")
    model, tokenizer = load_model(args.run, device=pick_device(args.device))
    top_k = args.top_k if args.top_k is not None else min(50, tokenizer.vocab_size)
    print(
        sample_text(
            model,
            tokenizer,
            args.prompt,
            args.tokens,
            temperature=args.temperature,
            top_k=top_k,
            top_p=args.top_p,
            seed=args.seed,
            use_cache=not args.no_cache,
        )
    )


if __name__ == "__main__":
    raise SystemExit(main())
