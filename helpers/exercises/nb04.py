"""Notebook 04 exercise: count a GPT's parameters from its config, without building it."""

from __future__ import annotations

import torch

from ..model import GPT, GPTConfig
from . import as_whole_number, attempt, checker, describe, report


def solution_count_params(cfg: GPTConfig) -> int:
    C, V, T, L = cfg.n_embd, cfg.vocab_size, cfg.block_size, cfg.n_layer
    b = 1 if cfg.bias else 0
    layer_norm = C + b * C
    attention = (C * 3 * C + b * 3 * C) + (C * C + b * C)  # c_attn (q, k, v) + c_proj
    mlp = (C * 4 * C + b * 4 * C) + (4 * C * C + b * C)  # c_fc + c_proj
    block = 2 * layer_norm + attention + mlp
    return V * C + T * C + L * block + layer_norm  # tied head: the token embedding is counted once


def size_of(cfg: GPTConfig) -> int:
    """GPT(cfg).num_params(), built without touching the notebook's random state."""
    with torch.random.fork_rng(devices=[]):
        return GPT(cfg).num_params()


def what_is_missing(cfg: GPTConfig, off_by: int) -> str:
    """The usual slips, recognised by how far off the count is."""
    C, V, T, L = cfg.n_embd, cfg.vocab_size, cfg.block_size, cfg.n_layer
    biases = L * (3 * C + C + 4 * C + C + 2 * C) + C  # Linear biases and LayerNorm shifts, if cfg.bias
    slips = {
        V * C: "the lm_head is tied to the token embedding: count that matrix once.",
        -T * C: "the position embedding (block_size × n_embd) is missing.",
        -(2 if cfg.bias else 1) * C: "the final LayerNorm (ln_f) is missing.",
    }
    if cfg.bias:
        slips[-biases] = "cfg.bias is True: each Linear has a bias, and each LayerNorm a shift as well as a scale."
    else:
        slips[biases] = "cfg.bias is False here: no Linear biases and no LayerNorm shifts."
    return slips.get(off_by, "count the lm_head once (it is tied), and do not forget biases and LayerNorms.")


@checker
def check_count_params(your_fn) -> bool:
    """`your_fn(cfg)` must return GPT(cfg).num_params() for several shapes (a whole number, however written)."""
    configs = [
        GPTConfig(vocab_size=65, block_size=8, n_layer=1, n_head=1, n_embd=4),
        GPTConfig(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128),
        GPTConfig(vocab_size=100, block_size=32, n_layer=2, n_head=2, n_embd=16, bias=False),
    ]
    for cfg in configs:
        want = size_of(cfg)
        shape = f"n_layer={cfg.n_layer}, n_embd={cfg.n_embd}, vocab={cfg.vocab_size}, block={cfg.block_size}, bias={cfg.bias}"
        got, problem = attempt(your_fn, cfg, where=f" for {shape}", returns="the count")
        if problem:
            return report(False, "", problem)
        count = as_whole_number(got)
        if count is None:
            return report(False, "", f"for {shape} you returned {describe(got)}: return the count, one whole number.")
        if count != want:
            return report(
                False,
                "",
                f"for {shape} you counted {count:,}, the model has {want:,} (off by {count - want:+,}). "
                f"Hint: {what_is_missing(cfg, count - want)}",
            )
    return report(True, "Right: you can predict a GPT's size from its shape alone.", "")
