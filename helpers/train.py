"""Train from the command line and print a sample:

python -m helpers.train --preset laptop --out runs/laptop
python -m helpers.train --preset laptop --out runs/laptop --resume
python -m helpers.train --minutes 5      # the best model this machine trains in 5 minutes
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import matplotlib

from . import checkpoint as ckpt
from .data import Corpus
from .device import pick_device
from .errors import WorkshopError, cli_exit_status
from .live import LiveLossPlot
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
        "--preset",
        default="auto",
        choices=["auto", *PRESETS],
        help="auto: workshop on a CUDA GPU, else laptop (with --minutes: the shape for that budget)",
    )
    p.add_argument("--out", default=None, help="run folder (default runs/<preset>)")
    p.add_argument(
        "--corpus", default=None, help="path to tinyshakespeare.txt (default: $WORKSHOP_CORPUS, data/, download)"
    )
    p.add_argument("--resume", action="store_true", help="continue from <out>/last.safetensors")
    p.add_argument("--max-iters", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--learning-rate", type=float)
    p.add_argument("--eval-interval", type=int)
    p.add_argument("--eval-iters", type=int)
    p.add_argument(
        "--minutes",
        type=float,
        help="train for this many minutes (the total, when resuming): the learning rate follows the clock "
        "and reaches its floor at the end, then a final evaluation",
    )
    p.add_argument("--max-minutes", type=float, help=argparse.SUPPRESS)  # replaced by --minutes: explained
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
    if args.max_minutes is not None:
        raise WorkshopError(
            "--max-minutes was replaced by --minutes N: it trains for N minutes and anneals the learning rate "
            "to its floor by the end (--max-minutes stopped early without annealing). Fix: use --minutes."
        )
    if args.minutes is not None and args.max_iters is not None:
        raise WorkshopError(
            "--minutes and --max-iters both say how long to train. Fix: give one (--minutes for a time budget)."
        )
    if args.minutes is not None and not (math.isfinite(args.minutes) and args.minutes > 0):
        raise WorkshopError(f"--minutes must be a positive number, not {args.minutes}. Fix: e.g. --minutes 5.")
    device = pick_device(args.device)
    preset_name, preset = get_preset(args.preset, device, minutes=args.minutes)
    out_dir = Path(args.out or f"runs/{preset_name}")
    overrides = {
        "max_iters": args.max_iters,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "eval_interval": args.eval_interval,
        "eval_iters": args.eval_iters,
        "budget_minutes": args.minutes,
        "seed": args.seed,
    }
    train_cfg = TrainConfig(
        **{**preset.train, **{k: v for k, v in overrides.items() if v is not None}},
        device=device,
        precision=args.precision,
        out_dir=str(out_dir),
        compile={"auto": "auto", "on": True, "off": False}[args.compile],
    )
    corpus = Corpus.load(args.corpus)
    dropout = {"dropout": args.dropout} if args.dropout is not None else {}
    model = preset.build_model(corpus.tokenizer.vocab_size, train_cfg.seed, **dropout)
    trainer = Trainer(model, corpus, train_cfg, callbacks=[LiveLossPlot(mode="text")])
    if args.resume:
        trainer.resume()
        print(f"resumed from {out_dir / ckpt.LAST} {trainer.resume_note()}")
    else:  # a fresh run starts a fresh log
        (out_dir / "metrics.jsonl").unlink(missing_ok=True)
        ckpt.remove_leftover_temp_files(out_dir)
    length = (
        f"{train_cfg.max_iters} steps"
        if train_cfg.budget_minutes is None
        else f"{train_cfg.budget_minutes:g} minutes of training"
    )
    print(
        f"preset {preset_name}: {model.num_params() / 1e6:.2f}M parameters, device {device}, "
        f"precision {trainer.precision}, {length} → {out_dir}"
    )
    history = trainer.fit()
    plot_history(history, out_dir / "loss.png", title=f"{preset_name}: train and val loss")
    best = min(history, key=lambda r: r["val_loss"])
    print(
        f"done ({trainer.stopped_because}): best val loss {best['val_loss']:.4f} at step {best['step']}, "
        f"final {history[-1]['val_loss']:.4f} at step {history[-1]['step']} (lr {history[-1]['lr']:.1e}); "
        f"trained {trainer.clock_s:.1f}s; checkpoint {out_dir / ckpt.BEST}"
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
