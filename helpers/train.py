"""Train from the command line and print a sample:

python -m helpers.train --preset laptop --out runs/laptop
python -m helpers.train --preset laptop --out runs/laptop --resume
python -m helpers.train --minutes 5      # the best model this machine trains in 5 minutes
python -m helpers.train --preset laptop --out runs/bpe512 --tokenizer bpe --vocab-size 512
python -m helpers.train --data data/big --out runs/big          # a corpus prepared by helpers.prepare
torchrun --standalone --nproc_per_node=2 -m helpers.train ...   # several processes (docs/scaling_out.md)

A folder that already holds a run is never trained over silently: it takes --resume (continue it),
--overwrite (replace it) or another --out. Every argument is checked before training starts.

Under torchrun, rank 0 alone prints and writes the run folder; the others train quietly.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import matplotlib

from . import checkpoint as ckpt
from . import distributed
from .data import Corpus, load_text, make_tokenizer
from .device import pick_device
from .errors import WorkshopError, cli_exit_status, require
from .live import LiveLossPlot
from .plotting import plot_history
from .prepared import load_prepared
from .presets import PRESETS, resolve_preset_name
from .runs import preset_for_run
from .sampling import check_seed, is_number, is_whole_number, sample_text
from .trainer import TrainConfig, Trainer


def build_parser():
    p = argparse.ArgumentParser(
        prog="python -m helpers.train",
        description="Train the workshop GPT on tiny Shakespeare (or a prepared corpus: --data) and print a sample. "
        "Several processes: torchrun --standalone --nproc_per_node=N -m helpers.train ... (docs/scaling_out.md).",
    )
    p.add_argument(
        "--preset",
        default="auto",
        choices=["auto", *PRESETS],
        help="auto: workshop on a CUDA GPU, else laptop (with --minutes: the shape for that budget)",
    )
    p.add_argument(
        "--out",
        default=None,
        help="run folder (default runs/<preset>); if it already holds a run, add --resume or --overwrite",
    )
    p.add_argument(
        "--corpus", default=None, help="path to tinyshakespeare.txt (default: $WORKSHOP_CORPUS, data/, download)"
    )
    existing = p.add_mutually_exclusive_group()
    existing.add_argument("--resume", action="store_true", help="continue the run in --out from its last.safetensors")
    existing.add_argument(
        "--overwrite",
        action="store_true",
        help="start afresh in --out, deleting the run it holds (checkpoints, metrics, plot, sample)",
    )
    p.add_argument(
        "--tokenizer", default="char", choices=["char", "bpe"], help="char (default) or byte-pair encoding (bpe)"
    )
    p.add_argument(
        "--vocab-size", type=int, help="BPE only: tokens to learn, 256 or more (learned from the train split, cached)"
    )
    p.add_argument(
        "--data",
        default=None,
        help="a folder made by python -m helpers.prepare, memory-mapped (a corpus larger than memory); "
        "instead of --corpus",
    )
    p.add_argument("--max-iters", type=int)
    p.add_argument(
        "--batch-size",
        type=int,
        help="the GLOBAL batch: sequences per optimizer step, all torchrun processes and --grad-accum pieces "
        "together (each process computes batch-size / (processes × grad-accum) at a time); "
        "the same batch size gives the same training on any number of processes",
    )
    p.add_argument(
        "--grad-accum",
        type=int,
        default=1,
        help="compute each batch in this many pieces, one optimizer step after the last (less memory, same batch)",
    )
    p.add_argument("--learning-rate", type=float)
    p.add_argument(
        "--extend-height",
        type=float,
        help="when --resume gives a finished run more steps or minutes: how far the learning rate climbs back, "
        "0 (default: it holds the floor, then anneals below it; measured, its val loss never rose) to 1 (back "
        "to the peak: ends lower, but first gets worse); see benchmarks/RESULTS.md",
    )
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
    p.add_argument("--seed", type=int, help="a whole number ≥ 0")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    p.add_argument("--compile", default="auto", choices=["auto", "on", "off"])
    p.add_argument(
        "--dist-backend",
        default="auto",
        choices=list(distributed.BACKENDS),
        help="under torchrun: auto = nccl on CUDA GPUs, gloo on the CPU",
    )
    p.add_argument("--prompt", default="\n", help="prompt for the sample printed at the end")
    p.add_argument("--sample-tokens", type=int, default=300, help="characters in that sample (0 for none)")
    return p


# What a run of this command leaves in its folder: --overwrite deletes these (and nothing else).
RUN_FILES = (ckpt.BEST, ckpt.LAST, "metrics.jsonl", "loss.png", "sample.txt")


def check_args(args) -> None:
    """Refuse a bad argument now, in one line naming the fix, not after a training run it would waste."""
    require(
        args.max_minutes is None,
        "--max-minutes was replaced by --minutes N: it trains for N minutes and anneals the learning rate "
        "to its floor by the end (--max-minutes stopped early without annealing). Fix: use --minutes.",
    )
    for name in ("max_iters", "batch_size", "eval_interval", "eval_iters"):
        value = getattr(args, name)
        require(
            value is None or (is_whole_number(value) and value > 0),
            f"--{name.replace('_', '-')}={value} is invalid. Fix: use a whole number ≥ 1, or leave it out "
            "for the preset's value.",
        )
    for name, example in (("learning_rate", "3e-4"), ("minutes", "5")):
        value = getattr(args, name)
        require(
            value is None or (is_number(value) and math.isfinite(value) and value > 0),
            f"--{name.replace('_', '-')}={value} is invalid. Fix: use a positive number (e.g. {example}), "
            "or leave it out.",
        )
    require(
        args.extend_height is None or (is_number(args.extend_height) and 0 <= args.extend_height <= 1),
        f"--extend-height={args.extend_height} is invalid. Fix: use a number from 0 (never climb) to 1 "
        "(climb back to the peak), or leave it out.",
    )
    require(
        args.minutes is None or args.max_iters is None,
        "--minutes and --max-iters both say how long to train. Fix: give one (--minutes for a time budget).",
    )
    require(
        args.dropout is None or (is_number(args.dropout) and 0 <= args.dropout < 1),
        f"--dropout={args.dropout} is invalid. Fix: use a number from 0 (no dropout) up to, not including, 1 "
        "(0.2 is typical), or leave it out.",
    )
    check_seed(args.seed, name="--seed")
    require(
        is_whole_number(args.sample_tokens) and args.sample_tokens >= 0,
        f"--sample-tokens={args.sample_tokens} is invalid. Fix: use a whole number ≥ 0 (0: the prompt alone).",
    )
    require(args.prompt != "", "--prompt is empty. Fix: give at least one character, e.g. '\\n' or 'ROMEO:'.")


def check_run_folder(out_dir: Path, resume: bool, overwrite: bool) -> None:
    """A trained model is never lost: a folder holding a run is resumed, or replaced only when asked."""
    require(
        not out_dir.exists() or out_dir.is_dir(),
        f"--out {out_dir} is a file, not a folder. Fix: give a folder for the run (e.g. runs/mine).",
    )
    held = ckpt.describe_run(out_dir)
    require(
        held is None or resume or overwrite,
        f"{out_dir} already holds a run ({held}); training afresh would replace its model. Fix: add --resume to "
        f"continue it, --out another folder for a new run, or --overwrite to replace it.",
    )


# A prepared corpus's val loss is exact (the whole split) only up to this size; beyond, one exact pass
# would cost more than the training between evaluations, so it is estimated from eval_iters batches.
EXACT_VAL_MAX_TOKENS = 1_000_000


def run_from_args(args) -> Trainer:
    """Everything `python -m helpers.train` does, as a function the tests can call."""
    matplotlib.use("Agg")  # files only: the command line has no screen to draw on
    check_args(args)
    launch = distributed.launch_from_env()
    device = pick_device(args.device)
    preset_name = resolve_preset_name(args.preset, device, args.minutes)
    out_dir = Path(args.out or f"runs/{preset_name}")
    check_run_folder(out_dir, args.resume, args.overwrite)
    overrides = {
        "max_iters": args.max_iters,
        "batch_size": args.batch_size,
        "grad_accum_steps": args.grad_accum,
        "learning_rate": args.learning_rate,
        "extend_height": args.extend_height,
        "eval_interval": args.eval_interval,
        "eval_iters": args.eval_iters,
        "seed": args.seed,
    }
    # resumed, `auto` keeps the run's own settings (a new budget must not pick another preset's model)
    preset_name, preset = preset_for_run(args.preset, device, out_dir, args.minutes, args.resume, **overrides)
    train_cfg = TrainConfig(
        **preset.train,
        device=device,
        precision=args.precision,
        out_dir=str(out_dir),
        compile={"auto": "auto", "on": True, "off": False}[args.compile],
    )
    distributed.check_launch(launch, train_cfg.batch_size, train_cfg.grad_accum_steps, device, args.dist_backend)
    corpus = load_corpus(args, train_cfg, out_dir if launch.is_main else None)
    try:  # the sample printed at the end must not fail after the whole run
        corpus.tokenizer.encode(args.prompt)
    except WorkshopError as err:
        raise WorkshopError(f"--prompt {args.prompt!r}: {err}") from None
    distributed.init(device, args.dist_backend)
    dropout = {"dropout": args.dropout} if args.dropout is not None else {}
    model = preset.build_model(corpus.tokenizer.vocab_size, train_cfg.seed, **dropout)
    trainer = Trainer(model, corpus, train_cfg, callbacks=[LiveLossPlot(mode="text")])
    if args.resume:
        trainer.resume()
        print(f"resumed from {out_dir / ckpt.LAST} {trainer.resume_note()}")
    elif launch.is_main:  # a fresh run starts a fresh log
        for name in RUN_FILES if args.overwrite else ("metrics.jsonl",):
            (out_dir / name).unlink(missing_ok=True)
        ckpt.remove_leftover_temp_files(out_dir)
    split = (
        f", global batch {train_cfg.batch_size} = {launch.world_size} processes × {train_cfg.grad_accum_steps} "
        f"piece(s) × {trainer.micro_batch_size} rows"
        if launch.world_size > 1 or train_cfg.grad_accum_steps > 1
        else ""
    )
    length = (
        f"{train_cfg.max_iters} steps"
        if train_cfg.budget_minutes is None
        else f"{train_cfg.budget_minutes:g} minutes of training"
    )
    print(
        f"preset {preset_name}: {model.num_params() / 1e6:.2f}M parameters, {corpus.tokenizer!r}, device {device}, "
        f"precision {trainer.precision}{split}, {length} → {out_dir}"
    )
    history = trainer.fit()
    if not launch.is_main:
        return trainer
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


def load_corpus(args, train_cfg: TrainConfig, tokenizer_cache: Path | None):
    """Tiny Shakespeare in memory (--corpus) with the --tokenizer asked for (a BPE one is cached in
    `tokenizer_cache`, rank 0's run folder), or a prepared folder, memory-mapped (--data), with its own."""
    if args.data is None:
        text = load_text(args.corpus)
        return Corpus.from_tokenizer(text, make_tokenizer(text, args.tokenizer, args.vocab_size, tokenizer_cache))
    require(
        args.corpus is None,
        "--corpus and --data both name the text to train on. Fix: give one (--data for a prepared folder).",
    )
    require(
        args.tokenizer == "char" and args.vocab_size is None,
        "--tokenizer and --vocab-size choose how --corpus is encoded; a prepared folder (--data) was encoded by "
        "helpers.prepare. Fix: drop them, or prepare the folder again with the tokenizer you want.",
    )
    corpus = load_prepared(args.data)
    if train_cfg.val_full_split and len(corpus.val) > EXACT_VAL_MAX_TOKENS:
        train_cfg.val_full_split = False
        print(
            f"val loss estimated from {train_cfg.eval_iters} batches: the val split of {args.data} "
            f"({len(corpus.val):,} tokens) is too long to score whole at every evaluation"
        )
    print(repr(corpus))
    return corpus


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    status = 1
    try:
        status = cli_exit_status(lambda: run_quietly_off_rank_0(args))
        return status
    finally:
        distributed.teardown(in_step=status == 0)


def run_quietly_off_rank_0(args) -> Trainer:
    launch = distributed.launch_from_env()
    with distributed.quiet_unless_main(launch), distributed.reported_once_per_machine(launch):
        return run_from_args(args)


if __name__ == "__main__":
    raise SystemExit(main())
