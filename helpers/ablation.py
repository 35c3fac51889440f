"""From GPT-2 to today's models, one change at a time, on the same wall-clock budget (notebook 10, issue 21).

What it knows: the changes compared (CHANGES: GPTConfig options, and the Muon optimizer), the GPT-2 shape they
start from (the laptop preset's model and learning rate), how to train one variant for a number of seconds and
score it exactly on the whole val split (`run_variant`), which changes won (`wins`), and the recorded table
(benchmarks/modern_ablation.json, written by benchmarks/bench_modern.py) with its text rendering; and, for the
longer budgets, where the budget presets' wins were measured on their own shapes (`budget_evidence`, from
benchmarks/budget_sweep.json, written by benchmarks/sweep_budget.py).
What it does not: processes, CPU slots, machine load (the benchmark script's), plotting (the notebook's).
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
from pathlib import Path

import torch

from .data import Corpus
from .errors import require
from .model import GPT, GPTConfig
from .optimizers import split_parameters
from .presets import PRESETS
from .timed_training import train_for
from .trainer import TrainConfig

RECORDED = Path(__file__).resolve().parents[1] / "benchmarks" / "modern_ablation.json"
BUDGET_SWEEP = RECORDED.with_name("budget_sweep.json")
# Where each longer budget's wins (presets.BUDGET_WINS) were measured: keys of budget_sweep.json holding runs
# with the wins and runs of the GPT-2 design on that budget preset's shape, two seeds each or more. 5 minutes:
# 8 minutes of one thread's CPU time, about the steps of 5 minutes of two threads.
BUDGET_EVIDENCE = {
    5: ("s30_minlr0_wd07", "s30_wd07_seed1", "s30_gpt2_wd07"),
    15: ("s30_15min_floor0_wd07", "s31_15min_wd07_seed1", "s31_15min_gpt2_wd07_seed0", "s31_15min_gpt2_wd07_seed1"),
}
SHAPE_FIELDS = ("n_layer", "n_head", "n_embd", "block_size", "dropout")
# The training settings evidence must share with the preset (the wins' own, e.g. the optimizer, aside)
SETTING_FIELDS = ("batch_size", "learning_rate", "min_lr", "warmup_fraction", "weight_decay")

BASELINE = "gpt2"
# Each change alone, as (GPTConfig overrides, optimizer). swiglu and relu2 are two answers to one question
# (which MLP): the wins keep the better of the two.
CHANGES: dict[str, tuple[dict, str]] = {
    BASELINE: ({}, "adamw"),
    "rope": ({"rope": True}, "adamw"),
    "rmsnorm": ({"norm": "rmsnorm"}, "adamw"),
    "swiglu": ({"mlp": "swiglu"}, "adamw"),
    "relu2": ({"mlp": "relu2"}, "adamw"),
    "qk_norm": ({"qk_norm": True}, "adamw"),
    "gqa": ({"n_kv_head": 2}, "adamw"),
    "untied": ({"tie_weights": False}, "adamw"),
    "muon": ({}, "muon"),
}
ALTERNATIVES = (("swiglu", "relu2"),)  # at most one of each group joins the wins
WINS = "all wins"


def gpt2_shape() -> dict:
    """The GPT-2-shaped model every change starts from: the laptop preset's, with its batch and learning rate."""
    laptop = PRESETS["laptop"]
    return dict(model=dict(laptop.model), batch_size=laptop.train["batch_size"], lr=laptop.train["learning_rate"])


def variant(names: list[str] | tuple[str, ...]) -> tuple[dict, str]:
    """GPTConfig overrides and optimizer with the changes `names` applied together."""
    unknown = [n for n in names if n not in CHANGES]
    require(not unknown, f"Unknown change(s) {unknown}. Fix: use names from {', '.join(CHANGES)}.")
    overrides, optimizer = {}, "adamw"
    for name in names:
        more, opt = CHANGES[name]
        overrides.update(more)
        optimizer = opt if opt != "adamw" else optimizer
    return overrides, optimizer


@torch.no_grad()
def exact_val_loss(model: GPT, corpus: Corpus, windows_per_batch: int = 128) -> float:
    """Mean loss over every non-overlapping block_size window of the val split (no sampling noise)."""
    block = model.config.block_size
    n = (len(corpus.val) - 1) // block
    model.eval()
    total = 0.0
    for i in range(0, n, windows_per_batch):
        x, y = corpus.windows("val", block, i, min(i + windows_per_batch, n))
        total += model(x, y)[1].item() * len(x)
    model.train()
    return total / n


def kv_cache_bytes_per_token(config: GPTConfig, bytes_per_number: int = 4) -> int:
    """What each generated token adds to the KV cache: a key and a value per layer and key/value head."""
    return 2 * config.n_layer * config.kv_heads * config.head_size * bytes_per_number


def run_variant(
    corpus: Corpus,
    names: list[str],
    seconds: float,
    seed: int,
    shape: dict | None = None,
    on_eval=None,
    clock=None,
) -> dict:
    """Train the GPT-2 shape with the changes `names` for `seconds` of training time; measure it.

    `clock=time.process_time` counts CPU seconds instead of wall-clock ones (the benchmark's choice on a
    shared machine: with one thread, the same thing on an idle machine, and immune to other people's load).
    Returns val_loss (exact), steps, tokens_per_s, params, kv_bytes_per_token and peak_rss_mb (the whole
    process's peak resident memory, Python, PyTorch and the corpus included: only meaningful when each variant
    runs in its own process, as the benchmark does, and even then dominated by what all variants share).
    """
    shape = shape or gpt2_shape()
    overrides, optimizer = variant(names)
    torch.manual_seed(seed)
    model = GPT(GPTConfig(vocab_size=corpus.tokenizer.vocab_size, **{**shape["model"], **overrides}))
    block, batch = model.config.block_size, shape["batch_size"]
    generator = corpus.generator(seed)

    def batch_loss():
        x, y = corpus.batch("train", batch, block, generator)
        return model(x, y)[1]

    history = train_for(
        model, batch_loss, seconds=seconds, learning_rate=shape["lr"], optimizer=optimizer, on_eval=on_eval, clock=clock
    )
    end = history[-1]
    return {
        "changes": list(names),
        "seed": seed,
        "seconds": seconds,
        "val_loss": exact_val_loss(model, corpus),
        "train_loss": end["loss"],
        "steps": end["step"],
        "tokens_per_s": end["step"] * batch * block / end["seconds"],
        "params": model.num_params(),
        "kv_bytes_per_token": kv_cache_bytes_per_token(model.config),
        "peak_rss_mb": peak_rss_mb(),
        "model": model.config.to_dict(),
        "optimizer": optimizer,
    }


def training_state_bytes(config: dict, optimizer: str) -> int:
    """Weights, gradients and optimizer state in fp32: AdamW keeps two numbers per weight, Muon one (its
    momentum) for the block matrices it takes. Counted on the meta device (no memory, instant)."""
    with torch.device("meta"):
        model = GPT(GPTConfig(**config))
    matrices, _, _ = split_parameters(model)
    muon_numbers = sum(p.numel() for p in matrices) if optimizer == "muon" else 0
    numbers = model.num_params()
    return 4 * (2 * numbers + 2 * (numbers - muon_numbers) + muon_numbers)


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**20 if sys.platform == "darwin" else 2**10)


def summarise(runs: list[dict]) -> dict[str, dict]:
    """Per variant (by its label): mean and spread (max − min) of the val loss over seeds, and the means of the rest."""
    by_label: dict[str, list[dict]] = {}
    for run in runs:
        by_label.setdefault(run["label"], []).append(run)
    table = {}
    for label, group in by_label.items():
        losses = [r["val_loss"] for r in group]
        table[label] = {
            "changes": group[0]["changes"],
            "val_loss": statistics.fmean(losses),
            "spread": max(losses) - min(losses),
            "seeds": len(group),
            "tokens_per_s": statistics.fmean(r["tokens_per_s"] for r in group),
            "params": group[0]["params"],
            "kv_bytes_per_token": group[0]["kv_bytes_per_token"],
            "peak_rss_mb": max(r["peak_rss_mb"] for r in group),
            "state_mb": training_state_bytes(group[0]["model"], group[0]["optimizer"]) / 2**20,
        }
    return table


def wins(table: dict[str, dict]) -> list[str]:
    """The changes whose mean val loss beat the GPT-2 shape's by more than the larger of the two seed spreads
    (of alternatives, the better one only)."""
    base = table[BASELINE]
    won = {
        name: row["val_loss"]
        for name, row in table.items()
        if name in CHANGES
        and name != BASELINE
        and base["val_loss"] - row["val_loss"] > max(base["spread"], row["spread"])
    }
    for group in ALTERNATIVES:
        present = [n for n in group if n in won]
        for loser in sorted(present, key=won.get)[1:]:
            del won[loser]
    return [name for name in CHANGES if name in won]


def format_table(table: dict[str, dict]) -> str:
    """The ablation table as Markdown: each variant against the GPT-2 shape, at the same budget."""
    base = table[BASELINE]["val_loss"]
    lines = [
        "| variant | val loss (mean) | vs GPT-2 | seed spread | tokens/s | parameters | KV cache/token "
        "| weights+grads+optimizer | peak RSS |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, row in table.items():
        lines.append(
            f"| {label} | {row['val_loss']:.4f} | {row['val_loss'] - base:+.4f} | {row['spread']:.4f} "
            f"| {row['tokens_per_s']:,.0f} | {row['params']:,} | {row['kv_bytes_per_token']:,} B "
            f"| {row['state_mb']:.2f} MB | {row['peak_rss_mb']:.0f} MB |"
        )
    return "\n".join(lines)


def load_recorded(path: str | Path = RECORDED) -> dict:
    """The recorded measurements (benchmarks/modern_ablation.json)."""
    path = Path(path)
    require(
        path.is_file(),
        f"No recorded ablation at {path}. Fix: python benchmarks/bench_modern.py table --seconds 60 (minutes).",
    )
    return json.loads(path.read_text())


def budget_wins(minutes: int) -> dict:
    """The wins a budget preset carries; for a budget that carries none, those of the nearest shorter budget
    (what was measured there as a candidate)."""
    from .presets import BUDGET_WINS

    return BUDGET_WINS.get(minutes) or BUDGET_WINS[max(m for m in BUDGET_WINS if m < minutes)]


def budget_evidence(minutes: int, path: str | Path = BUDGET_SWEEP) -> dict[bool, list[dict]]:
    """The recorded runs behind a budget preset's wins (`budget_wins`): {True: with them, False: the GPT-2 design}.

    Only runs on the preset's own shape and training settings (SETTING_FIELDS: weight decay, floor, ...) count
    (a record may hold other settings too); "the GPT-2 design" is learned positions, LayerNorm, GELU, a tied
    head and AdamW, on that same shape and settings.
    """
    from .presets import BUDGET_PRESETS

    require(
        minutes in BUDGET_EVIDENCE, f"No recorded evidence for {minutes} minutes. Fix: one of {list(BUDGET_EVIDENCE)}."
    )
    sweeps = json.loads(Path(path).read_text())
    preset = PRESETS[BUDGET_PRESETS[minutes]]
    config, gpt2 = preset.config().to_dict(), GPTConfig(vocab_size=preset.config().vocab_size).to_dict()
    wins = budget_wins(minutes)
    changed = {**wins["model"], **wins["train"]}
    baseline = {**{k: gpt2[k] for k in wins["model"]}, "optimizer": "adamw"}
    default = {k: getattr(TrainConfig, k) for k in SETTING_FIELDS}  # what a run or preset naming none trains with
    runs = {True: [], False: []}
    for run in (run for key in BUDGET_EVIDENCE[minutes] if key in sweeps for run in sweeps[key]["runs"]):
        same_shape = all(run["model"][k] == config[k] for k in SHAPE_FIELDS)
        same_settings = all(run["train"].get(k, default[k]) == preset.train.get(k, default[k]) for k in default)
        if not (same_shape and same_settings):
            continue
        settings = {**run["model"], "optimizer": run["train"].get("optimizer", "adamw")}
        for with_wins, wanted in ((True, changed), (False, baseline)):
            if all(settings[k] == v for k, v in wanted.items()):
                runs[with_wins].append(run)
    return runs


def budget_verdict(minutes: int, path: str | Path = BUDGET_SWEEP) -> dict | None:
    """The recorded evidence summed up: each side's mean val loss, the gap (GPT-2 design minus the wins, positive
    when the wins help), the seed spread (the larger of the two sides'), and whether the gap beats that spread.
    None until both sides have two runs."""
    runs = budget_evidence(minutes, path)
    losses = {side: [run["val_loss"] for run in runs[side]] for side in runs}
    if min(len(v) for v in losses.values()) < 2:
        return None
    mean = {side: sum(v) / len(v) for side, v in losses.items()}
    spread = max(max(v) - min(v) for v in losses.values())
    gap = mean[False] - mean[True]
    return {"wins": mean[True], "gpt2": mean[False], "gap": gap, "spread": spread, "wins_help": gap > spread}
