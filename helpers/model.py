"""A GPT-2-style decoder-only transformer, one screen per idea.

token + position embeddings → n_layer × Block(LayerNorm → causal self-attention → +residual,
LayerNorm → MLP → +residual) → LayerNorm → linear head (tied to the token embedding).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
from torch.nn import functional as F

from .errors import require


@dataclass
class GPTConfig:
    vocab_size: int = 65
    block_size: int = 256  # context length: the most characters the model can look back over
    n_layer: int = 6
    n_head: int = 6
    n_embd: int = 384
    dropout: float = 0.2
    bias: bool = True  # biases in Linear layers and LayerNorms, as in GPT-2
    fast_attention: bool = True  # fused scaled_dot_product_attention; False = the readable path

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            value = getattr(self, name)
            require(
                isinstance(value, int) and value > 0, f"GPTConfig.{name} must be a positive integer, not {value!r}."
            )
        require(
            self.n_embd % self.n_head == 0,
            f"n_embd={self.n_embd} is not divisible by n_head={self.n_head}: each head gets n_embd / n_head "
            f"channels. Fix: pick n_head from {[h for h in range(1, 17) if self.n_embd % h == 0]} "
            f"or change n_embd to a multiple of {self.n_head}.",
        )
        require(0.0 <= self.dropout < 1.0, f"dropout must be in [0, 1), not {self.dropout}.")

    @property
    def head_size(self) -> int:
        return self.n_embd // self.n_head

    def to_dict(self) -> dict:
        return asdict(self)


class CausalSelfAttention(nn.Module):
    """Every position attends to itself and the positions before it, in n_head heads at once."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head, self.head_size = config.n_head, config.head_size
        self.fast = config.fast_attention
        self.dropout = config.dropout
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)  # q, k, v for all heads
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        mask = torch.tril(torch.ones(config.block_size, config.block_size, dtype=torch.bool))
        self.register_buffer("causal_mask", mask, persistent=False)
        self.keep_weights = False  # set True to keep the attention weights (for heat maps)
        self.weights: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        # (B, T, C) -> (B, n_head, T, head_size): each head works on its own slice of channels
        q, k, v = (t.view(B, T, self.n_head, self.head_size).transpose(1, 2) for t in (q, k, v))
        if self.fast and not self.keep_weights:
            y = F.scaled_dot_product_attention(
                q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=True
            )
        else:
            y = self.readable_attention(q, k, v)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # heads side by side again
        return self.resid_dropout(self.c_proj(y))

    def readable_attention(self, q, k, v):
        """The attention notebook 03 teaches: scores, causal mask, softmax, weighted sum."""
        T = q.size(-2)
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_size)  # not sqrt(n_embd)!
        scores = scores.masked_fill(~self.causal_mask[:T, :T], float("-inf"))
        weights = F.softmax(scores, dim=-1)
        if self.keep_weights:
            self.weights = weights.detach()
        return self.attn_dropout(weights) @ v


class MLP(nn.Module):
    """Per position: widen 4×, GELU, project back. Where each token 'thinks' about what it gathered."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """Pre-LayerNorm transformer block: communicate (attention), then compute (MLP), each a residual."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x


class GPT(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(config.vocab_size, config.n_embd),  # token embeddings
                wpe=nn.Embedding(config.block_size, config.n_embd),  # position embeddings
                drop=nn.Dropout(config.dropout),
                h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
                ln_f=nn.LayerNorm(config.n_embd, bias=config.bias),
            )
        )
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # weight tying: one matrix reads and writes tokens
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # GPT-2: scale residual projections by depth
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module):
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_params(self) -> int:
        """Every trainable number, counting the tied embedding/head matrix once."""
        return sum(p.numel() for p in self.parameters())

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        B, T = idx.shape
        require(
            T <= self.config.block_size,
            f"The input has {T} tokens but the model's context (block_size) is {self.config.block_size}. "
            "Fix: crop the input to its last block_size tokens (generate() does this for you).",
        )
        pos = torch.arange(T, device=idx.device)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        for block in self.transformer.h:
            x = block(x)
        logits = self.lm_head(self.transformer.ln_f(x))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1))
        return logits, loss

    @torch.no_grad()
    def attention_maps(self, idx: torch.Tensor) -> torch.Tensor:
        """Attention weights for `idx`: a (n_layer, B, n_head, T, T) tensor, via the readable path."""
        was_training = self.training
        self.eval()
        layers = [block.attn for block in self.transformer.h]
        for attn in layers:
            attn.keep_weights = True
        try:
            self(idx)
            return torch.stack([attn.weights for attn in layers])
        finally:
            for attn in layers:
                attn.keep_weights, attn.weights = False, None
            self.train(was_training)
