"""Search for a fast-learning laptop preset: train each setting, print its exact val loss.

    python benchmarks/sweep_laptop.py n_layer=2,learning_rate=6e-3,max_iters=700 n_layer=3,max_iters=600

Each argument is one run: key=value pairs overriding the laptop preset (model or training fields).
The val loss is exact (whole val split), so it depends only on the settings and the seed, not on how
busy the machine is: search by loss here, then time the winner with `python -m helpers.train`.
How the table in RESULTS.md was made (run with OMP_NUM_THREADS=1 on a busy machine).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from helpers import GPT, Corpus, GPTConfig, TrainConfig, Trainer, get_preset  # noqa: E402


def number_or_text(value: str):
    """'3' -> 3, '1e-3' -> 0.001, 'true'/'false' -> True/False (GPTConfig's switches), anything else as given."""
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def parse(spec: str, preset) -> tuple[dict, dict]:
    model, train = dict(preset.model), {**preset.train, "progress": False, "compile": False}
    for pair in spec.split(","):
        key, value = pair.split("=")
        target = model if key in model else train
        target[key] = number_or_text(value)
    if "min_lr" not in spec:
        train["min_lr"] = train["learning_rate"] / 10
    if "eval_interval" not in spec:
        train["eval_interval"] = train["max_iters"] // 2
    return model, train


def main(specs: list[str]) -> int:
    corpus = Corpus.load()
    _, preset = get_preset("laptop")
    for spec in specs:
        model_cfg, train_cfg = parse(spec, preset)
        torch.manual_seed(train_cfg.get("seed", 1337))
        model = GPT(GPTConfig(vocab_size=corpus.tokenizer.vocab_size, **model_cfg))
        trainer = Trainer(model, corpus, TrainConfig(**{**train_cfg, "val_full_split": True}))
        start = time.perf_counter()
        history = trainer.fit()
        losses = " ".join(f"{r['step']}:{r['val_loss']:.3f}" for r in history[1:])
        print(f"{spec:55s} {model.num_params() / 1e6:.2f}M  {losses}  {time.perf_counter() - start:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
