"""Train from the command line and print a sample:

python -m helpers.train --preset laptop --out runs/laptop
python -m helpers.train --preset laptop --out runs/laptop --resume
python -m helpers.train --data data/big --out runs/big          # a corpus prepared by helpers.prepare
torchrun --standalone --nproc_per_node=2 -m helpers.train ...   # several processes (docs/scaling_out.md)

Under torchrun, rank 0 alone prints and writes the run folder; the others train quietly.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

from . import checkpoint as ckpt
from . import distributed
from .data import Corpus
from .device import pick_device
from .errors import cli_exit_status, require
from .plotting import plot_history
from .prepared import load_prepared
from .presets import PRESETS, get_preset
from .sampling import sample_text
from .trainer import TrainConfig, Trainer


def build_parser():
    p = argparse.ArgumentParser(
        prog="python -m helpers.train",
        description="Train the workshop GPT on tiny Shakespeare (or a prepared corpus: --data) and print a sample. "
        "Several processes: torchrun --standalone --nproc_per_node=N -m helpers.train ... (docs/scaling_out.md).",
    )
    p.add_argument(
        "--preset", default="auto", choices=["auto", *PRESETS], help="auto: workshop on a CUDA GPU, else laptop"
    )
    p.add_argument("--out", default=None, help="run folder (default runs/<preset>)")
    p.add_argument(
        "--corpus", default=None, help="path to tinyshakespeare.txt (default: $WORKSHOP_CORPUS, data/, download)"
    )
    p.add_argument(
        "--data",
        default=None,
        help="a folder made by python -m helpers.prepare, memory-mapped (a corpus larger than memory); "
        "instead of --corpus",
    )
    p.add_argument("--resume", action="store_true", help="continue from <out>/last.safetensors")
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
    p.add_argument("--eval-interval", type=int)
    p.add_argument("--eval-iters", type=int)
    p.add_argument("--max-minutes", type=float, help="wall-clock budget for training")
    p.add_argument("--dropout", type=float)
    p.add_argument("--seed", type=int)
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
    p.add_argument("--sample-tokens", type=int, default=300)
    return p


# A prepared corpus's val loss is exact (the whole split) only up to this size; beyond, one exact pass
# would cost more than the training between evaluations, so it is estimated from eval_iters batches.
EXACT_VAL_MAX_TOKENS = 1_000_000


def run_from_args(args) -> Trainer:
    """Everything `python -m helpers.train` does, as a function the tests can call."""
    matplotlib.use("Agg")  # files only: the command line has no screen to draw on
    launch = distributed.launch_from_env()
    device = pick_device(args.device)
    preset_name, preset = get_preset(args.preset, device)
    out_dir = Path(args.out or f"runs/{preset_name}")
    overrides = {
        "max_iters": args.max_iters,
        "batch_size": args.batch_size,
        "grad_accum_steps": args.grad_accum,
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
    distributed.check_launch(launch, train_cfg.batch_size, train_cfg.grad_accum_steps, device, args.dist_backend)
    corpus = load_corpus(args, train_cfg)
    distributed.init(device, args.dist_backend)
    dropout = {"dropout": args.dropout} if args.dropout is not None else {}
    model = preset.build_model(corpus.tokenizer.vocab_size, train_cfg.seed, **dropout)
    trainer = Trainer(model, corpus, train_cfg)
    if args.resume:
        trainer.resume()
        print(f"resumed from {out_dir / ckpt.LAST} at step {trainer.step}")
    elif launch.is_main:  # a fresh run starts a fresh log
        (out_dir / "metrics.jsonl").unlink(missing_ok=True)
        ckpt.remove_leftover_temp_files(out_dir)
    split = (
        f", global batch {train_cfg.batch_size} = {launch.world_size} processes × {train_cfg.grad_accum_steps} "
        f"piece(s) × {trainer.micro_batch_size} rows"
        if launch.world_size > 1 or train_cfg.grad_accum_steps > 1
        else ""
    )
    print(
        f"preset {preset_name}: {model.num_params() / 1e6:.2f}M parameters, device {device}, "
        f"precision {trainer.precision}{split}, {train_cfg.max_iters} steps → {out_dir}"
    )
    history = trainer.fit()
    if not launch.is_main:
        return trainer
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


def load_corpus(args, train_cfg: TrainConfig):
    """Tiny Shakespeare in memory (--corpus), or a prepared folder, memory-mapped (--data)."""
    if args.data is None:
        return Corpus.load(args.corpus)
    require(
        args.corpus is None,
        "--corpus and --data both name the text to train on. Fix: give one (--data for a prepared folder).",
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
    try:
        return cli_exit_status(lambda: run_quietly_off_rank_0(args))
    finally:
        distributed.teardown()


def run_quietly_off_rank_0(args) -> Trainer:
    launch = distributed.launch_from_env()
    with distributed.quiet_unless_main(launch), distributed.reported_once_per_machine(launch):
        return run_from_args(args)


if __name__ == "__main__":
    raise SystemExit(main())
