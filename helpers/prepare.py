"""Prepare a large text file for training, streaming (bounded memory, a progress bar per pass):

python -m helpers.prepare --corpus big.txt --out data/big
python -m helpers.train --data data/big --preset workshop

The character vocabulary needs one pass over the whole text to collect its characters, then a second
pass encodes them into data/big/tokens.bin (uint16). The format is in helpers/prepared.py.
"""

from __future__ import annotations

import argparse

from .errors import cli_exit_status
from .prepared import prepare


def build_parser():
    p = argparse.ArgumentParser(
        prog="python -m helpers.prepare",
        description="Tokenize a large UTF-8 text file into a prepared folder that training memory-maps "
        "(python -m helpers.train --data FOLDER). Two streaming passes: characters, then encoding.",
    )
    p.add_argument("--corpus", required=True, help="the UTF-8 text file")
    p.add_argument("--out", required=True, help="the folder to write (tokens.bin, tokenizer.json, meta.json)")
    p.add_argument(
        "--train-fraction", type=float, default=0.9, help="the first part trains, the rest validates (default 0.9)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def run_from_args(args) -> dict:
    meta = prepare(args.corpus, args.out, args.train_fraction, progress=not args.no_progress)
    print(
        f"{args.out}: {meta['tokens']:,} tokens ({meta['train_tokens']:,} train, {meta['val_tokens']:,} val), "
        f"{meta['vocab_size']} distinct characters. Train on it: python -m helpers.train --data {args.out}"
    )
    return meta


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return cli_exit_status(lambda: run_from_args(args))


if __name__ == "__main__":
    raise SystemExit(main())
