"""Named settings: `workshop` (the reference GPU run), `laptop` (a CPU run), `laptop-1min` / `-5min` /
`-15min` (the shapes and settings that learn most in those budgets on a CPU), `modern` (the laptop shape
with the changes of notebook 10 that measured as wins), `smoke` (seconds, for tests).

A preset is a model shape plus training settings. `auto` picks `workshop` on a CUDA GPU and
`laptop` anywhere else; with a time budget (`--minutes N`), the budget preset nearest to N there. A budget
preset carries notebook 10's wins at the budgets where they measured better than the GPT-2 design.
Figures about a preset are never typed: its size comes from `summary()` and `num_params()`, its
measured loss and time from benchmarks/measured.json (helpers.measured), and the README's preset table
is rendered from both by tools/nb.py.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import torch

from .data import CORPUS_VOCAB_SIZE
from .errors import require
from .model import GPT, GPTConfig
from .trainer import TrainConfig


@dataclass(frozen=True)
class Preset:
    description: str  # what it is for, in words; its figures are computed or recorded, never typed here
    model: dict = field(default_factory=dict)  # GPTConfig fields (vocab_size comes from the tokenizer)
    train: dict = field(default_factory=dict)  # TrainConfig fields

    def build_model(self, vocab_size: int, seed: int, **overrides) -> GPT:
        """This preset's GPT, seeded first: the same seed gives the same initial weights everywhere."""
        torch.manual_seed(seed)
        return GPT(GPTConfig(vocab_size=vocab_size, **{**self.model, **overrides}))

    def config(self, vocab_size: int = CORPUS_VOCAB_SIZE) -> GPTConfig:
        return GPTConfig(vocab_size=vocab_size, **self.model)

    def num_params(self, vocab_size: int = CORPUS_VOCAB_SIZE) -> int:
        """The model's parameter count, counted on PyTorch's meta device (shapes only: instant, no memory)."""
        with torch.device("meta"):
            return GPT(self.config(vocab_size)).num_params()

    def shape(self) -> str:
        """e.g. '2 layers × 4 heads × 128 wide, context 64', then any of notebook 10's changes ('RoPE')."""
        c = self.config()
        parts = [f"{c.n_layer} layers × {c.n_head} heads × {c.n_embd} wide, context {c.block_size}"]
        parts += ["RoPE"] * c.rope + [c.norm] * (c.norm != "layernorm") + [c.mlp] * (c.mlp != "gelu")
        parts += ["QK-norm"] * c.qk_norm + [f"{c.kv_heads} key/value heads"] * (c.kv_heads != c.n_head)
        parts += ["untied head"] * (not c.tie_weights)
        return ", ".join(parts)

    def settings(self) -> str:
        """The training settings people compare presets by, e.g. 'batch 32, lr 6e-3, dropout 0.2'."""
        parts = [f"batch {self.train['batch_size']}", f"lr {short_number(self.train['learning_rate'])}"]
        if self.config().dropout:
            parts.append(f"dropout {self.config().dropout:g}")
        if self.train.get("weight_decay", TrainConfig.weight_decay) != TrainConfig.weight_decay:
            parts.append(f"weight decay {self.train['weight_decay']:g}")
        if self.train.get("min_lr") is not None:
            parts.append(f"annealed to {short_number(self.train['min_lr']) if self.train['min_lr'] else 'zero'}")
        if self.train.get("optimizer", "adamw") != "adamw":
            parts.append(f"optimizer {self.train['optimizer']}")
        return ", ".join(parts)

    def length(self) -> str:
        """How long it trains: '700 steps', or '5 min' for a time budget (the steps then depend on the machine)."""
        minutes = self.train.get("budget_minutes")
        return f"{self.train['max_iters']} steps" if minutes is None else f"{minutes:g} min"

    def summary(self, vocab_size: int = CORPUS_VOCAB_SIZE) -> str:
        """One line for a notebook or a table: shape, settings and parameter count, all from this preset."""
        return f"{self.shape()}, {self.settings()}: {self.num_params(vocab_size):,} parameters"


def short_number(x: float) -> str:
    """6e-3 rather than 0.006: how learning rates are written in papers and in nanoGPT."""
    mantissa, exponent = f"{x:e}".split("e")
    return f"{float(mantissa):g}e{int(exponent)}" if x < 0.1 else f"{x:g}"


# the laptop preset's shape: per second of a 2-core CPU, 2 layers learn faster than 3 or 4 (benchmarks/RESULTS.md)
LAPTOP_MODEL = dict(block_size=64, n_layer=2, n_head=4, n_embd=128, dropout=0.0)

# The changes of notebook 10 that beat the GPT-2 design at the same training time by more than the seed
# spread, per budget, measured on that budget's own shape and settings with two seeds each: 1 minute on the
# laptop shape (benchmarks/modern_ablation.json: only Muon), 5 and 15 minutes on theirs
# (benchmarks/budget_sweep.json). A budget preset carries its budget's wins; tests check each against its record.
BUDGET_WINS = {
    1: {"model": {}, "train": {"optimizer": "muon"}},
    5: {"model": {"rope": True}, "train": {"optimizer": "muon"}},
    15: {"model": {"rope": True}, "train": {"optimizer": "muon"}},
}
# `modern`: the laptop shape with the wins of the 1-minute table (notebook 10's ablation)
MODERN_WINS = BUDGET_WINS[1]

# The shape that learned most in each budget on a 2-core CPU, over the laptop shape (benchmarks/sweep_budget.py,
# recorded in benchmarks/budget_sweep.json and RESULTS.md): from 1 to 5 minutes a deeper model with more context
# pays; at 15 minutes 6 layers tie with 4 (and 15 minutes end where 5 do: tiny Shakespeare is used up).
BUDGET_SHAPES = {1: {}, 5: dict(n_layer=4, block_size=128), 15: dict(n_layer=4, block_size=128)}
# Weight decay per budget. The longer the budget, the more passes over tiny Shakespeare's million characters
# and the more a small model overfits: at 5 minutes, annealed to zero, 0.7 ends lower than 0.5 and 1.0
# (budget_sweep.json). 1 minute keeps TrainConfig's 0.1: its val loss is still falling at the end.
# 15 minutes: the 5-minute recipe (0.7, annealed to zero) ends lower than 0.5 annealed to a tenth, on two seeds.
BUDGET_WEIGHT_DECAY = {1: 0.1, 5: 0.7, 15: 0.7}
# Where the rate anneals to at the end of the budget. At 5 and 15 minutes, to zero: a lower val loss than
# nanoGPT's tenth of the peak (budget_sweep.json). 1 minute keeps the tenth (None: TrainConfig's default): not swept.
BUDGET_FLOOR = {1: None, 5: 0.0, 15: 0.0}


def budget_preset(minutes: int) -> Preset:
    """The CPU preset for a time budget: the shape measured best for it, trained on the clock.

    Warm-up and decay follow the share of the budget spent (TrainConfig.budget_minutes); the val loss is
    exact over the whole val split. Which shape learns most in N minutes is measured with
    benchmarks/sweep_budget.py (benchmarks/RESULTS.md).
    """
    wins = BUDGET_WINS.get(minutes, {"model": {}, "train": {}})
    modern = minutes in BUDGET_WINS
    return Preset(
        f"the model that learned most in {minutes} min on a 2-core CPU, its rate annealed on the clock"
        + (" (with notebook 10's wins)" if modern else ""),
        model={**LAPTOP_MODEL, **BUDGET_SHAPES[minutes], **wins["model"]},
        train=dict(
            budget_minutes=minutes,
            batch_size=32,
            learning_rate=6e-3,
            warmup_fraction=0.03,
            eval_iters=10,
            val_full_split=True,
            weight_decay=BUDGET_WEIGHT_DECAY[minutes],
            **({} if BUDGET_FLOOR[minutes] is None else {"min_lr": BUDGET_FLOOR[minutes]}),
            **wins["train"],
        ),
    )


PRESETS = {
    "workshop": Preset(
        "the reference model of the talk: a GPU run",
        model=dict(block_size=256, n_layer=6, n_head=6, n_embd=384, dropout=0.2),
        # Evaluation kept proportionate: the val loss exact over the whole val split (435 windows, about
        # 7 batches' worth) and the train loss from 20 batches; 200 batches per split added ~50% to the run.
        train=dict(
            batch_size=64,
            max_iters=5000,
            learning_rate=1e-3,
            warmup_iters=100,
            eval_interval=250,
            eval_iters=20,
            val_full_split=True,
        ),
    ),
    # Tuned by measurement on a 2-core CPU (benchmarks/RESULTS.md): per second of CPU, 2 layers learn
    # faster than 3 or 4, and a high learning rate with a short cosine schedule beats a long one.
    # The val loss is exact (whole val split) at a few evaluations, not estimated at many.
    "laptop": Preset(
        "a small model that learns to write play-shaped text on a laptop's CPU",
        model=LAPTOP_MODEL,
        train=dict(
            batch_size=32,
            max_iters=700,
            learning_rate=6e-3,
            warmup_iters=50,
            eval_interval=175,
            eval_iters=10,
            val_full_split=True,
        ),
    ),
    # Time budgets on a CPU (`--minutes N`, `auto` picks the nearest): see budget_preset.
    **{f"laptop-{minutes}min": budget_preset(minutes) for minutes in BUDGET_SHAPES},
    "smoke": Preset(
        "a tiny model for tests and CI: it learns almost nothing",
        model=dict(block_size=32, n_layer=2, n_head=2, n_embd=32, dropout=0.0),
        train=dict(
            batch_size=8,
            max_iters=30,
            learning_rate=3e-3,
            warmup_iters=5,
            eval_interval=10,
            eval_iters=4,
            log_interval=5,
        ),
    ),
}


PRESETS["modern"] = Preset(
    "the laptop model with the changes that measured as wins (notebook 10), trained for 5 min (--minutes N)",
    model={**LAPTOP_MODEL, **MODERN_WINS["model"]},
    train={**budget_preset(1).train, "budget_minutes": 5, **MODERN_WINS["train"]},  # the 1-minute settings
)

# minutes → the CPU preset measured for that budget (resolve_preset_name picks the nearest)
BUDGET_PRESETS = {minutes: f"laptop-{minutes}min" for minutes in BUDGET_SHAPES}


def smoke_mode() -> bool:
    """True when WORKSHOP_SMOKE=1: notebooks and CI then train for seconds, not minutes."""
    return os.environ.get("WORKSHOP_SMOKE", "") not in ("", "0", "false", "False")


def budget_preset_for(minutes: float) -> str:
    """The CPU budget preset whose budget is nearest to `minutes` (on a log scale: 3 min → the 5-min one)."""
    return BUDGET_PRESETS[min(BUDGET_PRESETS, key=lambda budget: abs(math.log(minutes / budget)))]


def resolve_preset_name(name: str, device: str, minutes: float | None = None) -> str:
    """`auto`: workshop on a CUDA GPU; elsewhere laptop, or for a time budget the shape measured best for it."""
    if name == "auto":
        if device == "cuda":
            return "workshop"
        return "laptop" if minutes is None else budget_preset_for(minutes)
    require(name in PRESETS, f"Unknown preset {name!r}. Fix: use one of auto, {', '.join(PRESETS)}.")
    return name


def get_preset(name: str, device: str = "cpu", minutes: float | None = None) -> tuple[str, Preset]:
    """The preset called `name` (`auto`: by device and budget), and its resolved name."""
    resolved = resolve_preset_name(name, device, minutes)
    return resolved, PRESETS[resolved]
