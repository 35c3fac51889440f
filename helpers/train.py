"""Train from the command line and print a sample:

python -m helpers.train --preset laptop --out runs/laptop
python -m helpers.train --preset laptop --out runs/laptop --resume
python -m helpers.train --preset laptop --out runs/bpe512 --tokenizer bpe --vocab-size 512
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

from . import checkpoint as ckpt
from .data import Corpus, load_text, make_tokenizer
from .device import pick_device
from .errors import cli_exit_status
from .plotting import plot_history
from .presets import PRESETS, get_preset
from .sampling import sample_text
from .trainer import TrainConfig, Trainer


def build_parser():
    p = argparse.ArgumentParser(
        prog="python -m helpers.train",
        description="Train the workshop GPT on tiny Shakespeare and print a sample.",
    )
    p.add_argument(
        "--preset", default="auto", choices=["auto", *PRESETS], help="auto: workshop on a CUDA GPU, else laptop"
    )
    p.add_argument("--out", default=None, help="run folder (default runs/<preset>)")
    p.add_argument(
        "--corpus", default=None, help="path to tinyshakespeare.txt (default: $WORKSHOP_CORPUS, data/, download)"
    )
    p.add_argument("--resume", action="store_true", help="continue from <out>/last.safetensors")
    p.add_argument(
        "--tokenizer", default="char", choices=["char", "bpe"], help="char (default) or byte-pair encoding (bpe)"
    )
    p.add_argument(
        "--vocab-size", type=int, help="BPE only: tokens to learn, 256 or more (learned from the train split, cached)"
    )
    p.add_argument("--max-iters", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--learning-rate", type=float)
    p.add_argument("--eval-interval", type=int)
    p.add_argument("--eval-iters", type=int)
    p.add_argument("--max-minutes", type=float, help="wall-clock budget for training")
    p.add_argument("--dropout", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    p.add_argument("--compile", default="auto", choices=["auto", "on", "off"])
    p.add_argument("--prompt", default="\n", help="prompt for the sample printed at the end")
    p.add_argument("--sample-tokens", type=int, default=300)
    return p


def run_from_args(args) -> Trainer:
    """Everything `python -m helpers.train` does, as a function the tests can call."""
    matplotlib.use("Agg")  # files only: the command line has no screen to draw on
    device = pick_device(args.device)
    preset_name, preset = get_preset(args.preset, device)
    out_dir = Path(args.out or f"runs/{preset_name}")
    overrides = {
        "max_iters": args.max_iters,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "eval_interval": args.eval_interval,
        "eval_iters": args.eval_iters,
        "max_minutes": args.max_minutes,
        "seed": args.seed,
    }
    train_cfg = TrainConfig(
        **{**preset.train, **{k: v for k, v in overrides.items() if v is not None}},
        device=device,
        precision=args.precision,
        out_dir=str(out_dir),
        compile={"auto": "auto", "on": True, "off": False}[args.compile],
    )
    text = load_text(args.corpus)
    corpus = Corpus.from_tokenizer(text, make_tokenizer(text, args.tokenizer, args.vocab_size, cache_dir=out_dir))
    dropout = {"dropout": args.dropout} if args.dropout is not None else {}
    model = preset.build_model(corpus.tokenizer.vocab_size, train_cfg.seed, **dropout)
    trainer = Trainer(model, corpus, train_cfg)
    if args.resume:
        trainer.resume()
        print(f"resumed from {out_dir / ckpt.LAST} at step {trainer.step}")
    else:  # a fresh run starts a fresh log
        (out_dir / "metrics.jsonl").unlink(missing_ok=True)
        ckpt.remove_leftover_temp_files(out_dir)
    print(
        f"preset {preset_name}: {model.num_params() / 1e6:.2f}M parameters, {corpus.tokenizer!r}, device {device}, "
        f"precision {trainer.precision}, {train_cfg.max_iters} steps → {out_dir}"
    )
    history = trainer.fit()
    plot_history(history, out_dir / "loss.png", title=f"{preset_name}: train and val loss")
    best = min(history, key=lambda r: r["val_loss"])
    print(
        f"done ({trainer.stopped_because}): best val loss {best['val_loss']:.4f} at step {best['step']}, "
        f"{history[-1]['elapsed_s']:.1f}s; checkpoint {out_dir / ckpt.BEST}"
    )
    best_model, tokenizer = ckpt.load_model(out_dir / ckpt.BEST, device)
    text = sample_text(
        best_model,
        tokenizer,
        args.prompt,
        args.sample_tokens,
        temperature=0.8,
        top_k=min(50, tokenizer.vocab_size),
        seed=0,
    )
    (out_dir / "sample.txt").write_text(text)
    print("-" * 60 + "\n" + text + "\n" + "-" * 60)
    return trainer


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return cli_exit_status(lambda: run_from_args(args))


if __name__ == "__main__":
    raise SystemExit(main())
