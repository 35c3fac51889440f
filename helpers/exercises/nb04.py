"""Notebook 04 exercise: count a GPT's parameters from its config, without building it."""

from __future__ import annotations

from ..model import GPT, GPTConfig
from . import attempt, report


def solution_count_params(cfg: GPTConfig) -> int:
    C, V, T, L = cfg.n_embd, cfg.vocab_size, cfg.block_size, cfg.n_layer
    b = 1 if cfg.bias else 0
    layer_norm = C + b * C
    attention = (C * 3 * C + b * 3 * C) + (C * C + b * C)  # c_attn (q, k, v) + c_proj
    mlp = (C * 4 * C + b * 4 * C) + (4 * C * C + b * C)  # c_fc + c_proj
    block = 2 * layer_norm + attention + mlp
    return V * C + T * C + L * block + layer_norm  # tied head: the token embedding is counted once


def check_count_params(your_fn) -> bool:
    """`your_fn(cfg)` must return GPT(cfg).num_params() for several shapes."""
    configs = [
        GPTConfig(vocab_size=65, block_size=8, n_layer=1, n_head=1, n_embd=4),
        GPTConfig(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128),
        GPTConfig(vocab_size=100, block_size=32, n_layer=2, n_head=2, n_embd=16, bias=False),
    ]
    for cfg in configs:
        want = GPT(cfg).num_params()
        got, problem = attempt(your_fn, cfg)
        if problem:
            return report(False, "", problem)
        if got != want:
            shape = f"n_layer={cfg.n_layer}, n_embd={cfg.n_embd}, vocab={cfg.vocab_size}, block={cfg.block_size}, bias={cfg.bias}"
            return report(
                False,
                "",
                f"for {shape} you counted {got:,}, the model has {want:,} "
                f"(off by {got - want:+,}). Hint: count the lm_head once (it is tied), "
                "and do not forget biases and LayerNorms.",
            )
    return report(True, "Right: you can predict a GPT's size from its shape alone.", "")
