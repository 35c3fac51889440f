"""Which model learns most in N minutes on this machine? Train each setting for the same time budget.

    python benchmarks/sweep_budget.py --minutes 1 n_layer=2,n_embd=128 n_layer=3,n_embd=192,block_size=128

Each argument is one run: key=value pairs over the base preset (`--base`, default laptop-<N>min, else
laptop): model fields (n_layer, n_embd, n_head, block_size, dropout) or TrainConfig fields (batch_size,
learning_rate, warmup_fraction, eval_interval_minutes, ...). Every run is a real time-budget run
(TrainConfig.budget_minutes): warm-up and cosine decay on the clock, evaluations included in the budget,
and an exact final val loss over the whole val split. Prints one line per run, as it finishes.

Unlike a sweep over steps, the result depends on the machine's speed, so run it alone:
    flock /tmp/gpt-cpu.lock sh -c 'uptime; python benchmarks/sweep_budget.py --minutes 1 ...; uptime'
n_head defaults to n_embd // 64 (at least 2 ... at most 8 heads) when only n_embd is given.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from sweep_laptop import number_or_text  # noqa: E402  (benchmarks/ is on the path when a script in it runs)

from helpers import GPT, PRESETS, Corpus, GPTConfig, TrainConfig, Trainer, pick_device  # noqa: E402

MODEL_FIELDS = set(GPTConfig.__dataclass_fields__) - {"vocab_size"}


def parse(spec: str, base: str, minutes: float) -> tuple[dict, dict]:
    model, train = dict(PRESETS[base].model), {**PRESETS[base].train, "budget_minutes": minutes}
    given = {}
    for pair in filter(None, spec.split(",")):
        key, sep, value = pair.partition("=")
        if not sep or (key not in MODEL_FIELDS and key not in TrainConfig.__dataclass_fields__):
            raise SystemExit(f"{pair!r} is not key=value with a GPTConfig or TrainConfig field")
        given[key] = number_or_text(value)
    for key, value in given.items():
        (model if key in MODEL_FIELDS else train)[key] = value
    if "n_embd" in given and "n_head" not in given:
        model["n_head"] = min(8, max(2, model["n_embd"] // 64))
    train.pop("max_iters", None)
    return model, train


def run(spec: str, corpus: Corpus, base: str, minutes: float, device: str) -> str:
    model_cfg, train_cfg = parse(spec, base, minutes)
    torch.manual_seed(train_cfg.get("seed", 1337))
    model = GPT(GPTConfig(vocab_size=corpus.tokenizer.vocab_size, **model_cfg))
    cfg = TrainConfig(**{**train_cfg, "val_full_split": True, "progress": False, "device": device})
    trainer = Trainer(model, corpus, cfg)
    started = time.perf_counter()
    history = trainer.fit()
    took = time.perf_counter() - started
    tokens = trainer.step * cfg.batch_size * model.config.block_size
    vals = " ".join(f"{r['val_loss']:.3f}@{r['elapsed_s']:.0f}s,lr{r['lr']:.0e}" for r in history[1:])
    return (
        f"{spec or '(base)':60s} {model.num_params() / 1e6:5.2f}M {trainer.step:6d} steps "
        f"{tokens / took / 1e3:6.1f}k tok/s  eval {trainer.eval_s:4.1f}s  fit {took:6.1f}s  "
        f"val {history[-1]['val_loss']:.4f}  (evals: {vals})  load {os.getloadavg()[0]:.1f}"
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, required=True)
    p.add_argument("--base", default=None, help="preset the specs start from (default laptop-<N>min, else laptop)")
    p.add_argument("--device", default="auto")
    p.add_argument("specs", nargs="*", default=[""])
    args = p.parse_args(argv)
    base = args.base or (f"laptop-{args.minutes:g}min" if f"laptop-{args.minutes:g}min" in PRESETS else "laptop")
    device = pick_device(args.device)
    corpus = Corpus.load(device=device)
    print(
        f"{platform.node()} · {platform.processor() or platform.machine()} · torch {torch.__version__} · "
        f"{device} · {torch.get_num_threads()} threads · {time.strftime('%Y-%m-%d %H:%M')} · "
        f"{args.minutes:g} min per run, base preset {base}",
        flush=True,
    )
    for spec in args.specs or [""]:
        print(run(spec, corpus, base, args.minutes, device), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
