"""Karpathy's ablation ladder: the GPT assembled one idea at a time, each rung trained briefly on the CPU.

Rungs, in order (notebook 03 climbs the first three, notebook 04 all of them):
  bigram                  token + position embeddings straight into the output layer: no look-back
  one head                + one attention head as wide as the embedding
  heads                   + the same width split into n_head heads
  + MLP                   + a per-position MLP after the attention
  + residual & LayerNorm  the same layers as transformer blocks: x + f(LayerNorm(x)), then a final LayerNorm

Every rung has the same small embedding and short context (Karpathy's 32 wide, 8 characters), one layer
of each part, the same seed, batches and steps, so the validation losses compare. The parts are the
`helpers.model` ones notebooks 03 and 04 build and check. What this module does not do: the real model
(helpers.model.GPT) or real training (helpers.trainer); the loop here is the bare loop of notebook 05.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
import torch.nn as nn
from torch.nn import functional as F

from .data import Corpus
from .errors import require
from .model import MLP, Block, CausalSelfAttention, GPTConfig

RUNGS = ("bigram", "one head", "heads", "+ MLP", "+ residual & LayerNorm")


@dataclass(frozen=True)
class LadderConfig:
    block_size: int = 8
    n_embd: int = 32
    n_head: int = 4
    batch_size: int = 32
    steps: int = 3000
    learning_rate: float = 3e-3
    seed: int = 1337


class AttentionThenMLP(nn.Module):
    """The block without its residuals and LayerNorms: attention, then the MLP, each replacing x."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.attn = CausalSelfAttention(config)
        self.mlp = MLP(config)

    def forward(self, x):
        return self.mlp(self.attn(x))


class LadderModel(nn.Module):
    """One rung of the ladder: embeddings, the rung's layers, an output layer."""

    def __init__(self, rung: str, vocab_size: int, cfg: LadderConfig = LadderConfig()):
        super().__init__()
        require(rung in RUNGS, f"Unknown rung {rung!r}. Fix: use one of {', '.join(map(repr, RUNGS))}.")
        self.rung, self.block_size = rung, cfg.block_size
        config = GPTConfig(
            vocab_size=vocab_size,
            block_size=cfg.block_size,
            n_layer=1,
            n_head=cfg.n_head,
            n_embd=cfg.n_embd,
            dropout=0.0,
        )
        self.wte = nn.Embedding(vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
        layers = {
            "bigram": [],
            "one head": [CausalSelfAttention(GPTConfig(**{**config.to_dict(), "n_head": 1}))],
            "heads": [CausalSelfAttention(config)],
            "+ MLP": [AttentionThenMLP(config)],
            "+ residual & LayerNorm": [Block(config), nn.LayerNorm(cfg.n_embd)],
        }[rung]
        self.layers = nn.Sequential(*layers)
        self.lm_head = nn.Linear(cfg.n_embd, vocab_size)

    def forward(self, idx, targets=None):
        T = idx.size(1)
        x = self.layers(self.wte(idx) + self.wpe(torch.arange(T, device=idx.device)))
        logits = self.lm_head(x)
        loss = None if targets is None else F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1))
        return logits, loss


@torch.no_grad()
def split_loss(model: LadderModel, tokens: torch.Tensor, windows_per_batch: int = 1024) -> float:
    """Exact mean loss over `tokens` in consecutive block_size windows (no sampling noise)."""
    model.eval()
    T = model.block_size
    n = (len(tokens) - 1) // T
    x, y = tokens[: n * T].view(n, T), tokens[1 : n * T + 1].view(n, T)
    total = sum(
        model(xb, yb)[1].item() * len(xb) for xb, yb in zip(x.split(windows_per_batch), y.split(windows_per_batch))
    )
    model.train()
    return total / n


def climb(corpus: Corpus, rungs=RUNGS, cfg: LadderConfig = LadderConfig()) -> list[dict]:
    """Train each rung for cfg.steps AdamW steps on the same batches; its exact val loss, parameters, seconds."""
    results, threads = [], torch.get_num_threads()
    torch.set_num_threads(1)  # models this small run fastest on one core: sharing out tiny matmuls costs more
    try:
        for rung in rungs:
            results.append(_train_rung(corpus, rung, cfg))
    finally:
        torch.set_num_threads(threads)
    return results


def _train_rung(corpus: Corpus, rung: str, cfg: LadderConfig) -> dict:
    torch.manual_seed(cfg.seed)
    model = LadderModel(rung, corpus.tokenizer.vocab_size, cfg)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate)
    batches = torch.Generator().manual_seed(cfg.seed)  # every rung sees the same batches
    started = time.perf_counter()
    for _ in range(cfg.steps):
        xb, yb = corpus.batch("train", cfg.batch_size, cfg.block_size, batches)
        _, loss = model(xb, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return dict(
        rung=rung,
        val_loss=split_loss(model, corpus.val),
        params=sum(p.numel() for p in model.parameters()),
        seconds=time.perf_counter() - started,
    )
