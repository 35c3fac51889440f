"""The pieces today's models swapped into GPT-2: rotary positions, RMSNorm, gated and squared-ReLU MLPs.

What it knows: each piece as a small function or module, written as notebook 10 writes it by hand, and the
names GPTConfig accepts for them (NORMS, MLPS). Rotary positions use the "rotate half" layout of
Llama and Hugging Face transformers (channel i is paired with channel i + head_size/2), so an export
needs no permutation.
What it does not: where the pieces go in a block, the config's checks, the cache (model.py, kv_cache.py).
It imports nothing from model.py; model.py imports from here.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from torch.nn import functional as F

NORMS = ("layernorm", "rmsnorm")
MLPS = ("gelu", "swiglu", "relu2")
RMS_EPS = 1e-5  # Llama's rms_norm_eps for small models; the export writes it into config.json


class RMSNorm(nn.RMSNorm):
    """x / sqrt(mean(x²) + eps) × weight: LayerNorm without the mean and the shift, one reduction instead of two.

    Computed in float32 whatever the autocast dtype, as LayerNorm is (and as Llama does): x² overflows fp16.
    """

    def __init__(self, dim: int):
        super().__init__(dim, eps=RMS_EPS)

    def forward(self, x):
        return super().forward(x.float()).to(x.dtype)


def make_norm(kind: str, dim: int, bias: bool) -> nn.Module:
    """GPT-2's LayerNorm (subtract the mean, divide by the std, scale and shift) or RMSNorm."""
    if kind == "rmsnorm":
        return RMSNorm(dim)
    return nn.LayerNorm(dim, bias=bias)


def rope_frequencies(head_size: int, base: float = 10000.0) -> torch.Tensor:
    """The angle each channel pair turns per position: base^(-2i/head_size), fast for the first pairs, slow
    for the last (computed as transformers does, so an export agrees to the last bit)."""
    return 1.0 / (base ** (torch.arange(0, head_size, 2, dtype=torch.int64).float() / head_size))


def rope_angles(positions: torch.Tensor, inv_freq: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of position × frequency, (T, head_size/2) each, for any positions (past block_size too)."""
    angles = positions.float()[:, None] * inv_freq[None, :]
    return angles.cos(), angles.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate each pair (x[i], x[i + d/2]) of `x` (B, n_head, T, d) by its position's angle.

    A rotation keeps the vector's length, and q at position m rotated by m·θ dotted with k at position n
    rotated by n·θ depends on m − n alone: attention sees relative positions, with no weights to learn.
    """
    half = x.size(-1) // 2
    x1, x2 = x[..., :half], x[..., half:]
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1)


def swiglu_hidden_size(n_embd: int) -> int:
    """SwiGLU's hidden width: 2/3 of GPT-2's 4 × n_embd (three matrices, not two, for the same parameters),
    rounded up to a multiple of 32 as Llama rounds its own."""
    return -(-(8 * n_embd // 3) // 32) * 32


class SwiGLU(nn.Module):
    """Llama's MLP: a SiLU-gated product of two projections, then back down. The gate lets each hidden unit
    switch its other half on and off smoothly; per parameter it learns faster than GELU in most reports."""

    def __init__(self, n_embd: int, bias: bool, dropout: float):
        super().__init__()
        hidden = swiglu_hidden_size(n_embd)
        self.c_gate = nn.Linear(n_embd, hidden, bias=bias)
        self.c_fc = nn.Linear(n_embd, hidden, bias=bias)
        self.c_proj = nn.Linear(hidden, n_embd, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(F.silu(self.c_gate(x)) * self.c_fc(x)))


class ReLUSquared(nn.Module):
    """modded-nanogpt's MLP: GPT-2's, with relu(x)² in place of GELU (cheaper, and as good or better there)."""

    def __init__(self, n_embd: int, bias: bool, dropout: float):
        super().__init__()
        self.c_fc = nn.Linear(n_embd, 4 * n_embd, bias=bias)
        self.c_proj = nn.Linear(4 * n_embd, n_embd, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(F.relu(self.c_fc(x)).square()))
