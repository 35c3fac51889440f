"""A GPT-2-style decoder-only transformer, one screen per idea.

token + position embeddings → n_layer × Block(LayerNorm → causal self-attention → +residual,
LayerNorm → MLP → +residual) → LayerNorm → linear head (tied to the token embedding).
With a KV cache (kv_cache.py), a forward pass reads only the new tokens and attends over the cached ones.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
from torch.nn import functional as F

from .errors import require
from .kv_cache import KVCache, LayerKVCache


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

    def forward(self, x: torch.Tensor, kv_cache: LayerKVCache | None = None) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        # (B, T, C) -> (B, n_head, T, head_size): each head works on its own slice of channels
        q, k, v = (t.view(B, T, self.n_head, self.head_size).transpose(1, 2) for t in (q, k, v))
        if kv_cache is not None:
            k, v = kv_cache.append(k, v)  # the keys and values of every position so far, these T last
        past = k.size(2) - T  # positions before this call's (0 without a cache)
        if self.fast and not self.keep_weights:
            dropout_p = self.dropout if self.training else 0.0
            if past == 0:
                y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=True)
            else:  # the new queries see every cached position, and the new ones up to their own
                mask = self.causal_mask[past : past + T, : past + T]
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)
        else:
            y = self.readable_attention(q, k, v)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # heads side by side again
        return self.resid_dropout(self.c_proj(y))

    def readable_attention(self, q, k, v):
        """The attention notebook 03 teaches: scores, causal mask, softmax, weighted sum.

        `k` and `v` may be longer than `q` (a KV cache): the queries are then the last positions.
        """
        T, past = q.size(-2), k.size(-2) - q.size(-2)
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_size)  # not sqrt(n_embd)!
        scores = scores.masked_fill(~self.causal_mask[past : past + T, : past + T], float("-inf"))
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

    def forward(self, x, kv_cache: LayerKVCache | None = None):
        x = x + self.attn(self.ln_1(x), kv_cache)
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

    def new_kv_cache(self, batch_size: int = 1) -> KVCache:
        """An empty KV cache for `batch_size` sequences: pass it to forward() as `kv_cache`."""
        return KVCache(self.config.n_layer, batch_size, capacity=self.config.block_size)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None, kv_cache: KVCache | None = None):
        """Logits for every position of `idx` (B, T), and the loss if `targets` are given.

        With a `kv_cache`, `idx` holds only the tokens after the cached ones: they get the positions that follow,
        and their keys and values are added to the cache.
        """
        B, T = idx.shape
        require(
            T <= self.config.block_size,
            f"The input has {T} tokens but the model's context (block_size) is {self.config.block_size}. "
            "Fix: crop the input to its last block_size tokens (generate() does this for you).",
        )
        past = 0 if kv_cache is None else self._check_kv_cache(kv_cache, B, T)
        pos = torch.arange(past, past + T, device=idx.device)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        layer_caches = kv_cache.layers if kv_cache is not None else [None] * self.config.n_layer
        for block, layer_cache in zip(self.transformer.h, layer_caches):
            x = block(x, layer_cache)
        logits = self.lm_head(self.transformer.ln_f(x))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1))
        return logits, loss

    def _check_kv_cache(self, kv_cache: KVCache, B: int, T: int) -> int:
        """How many positions `kv_cache` holds, once it is sure to fit this model and `T` more tokens."""
        bs = self.config.block_size
        require(
            isinstance(kv_cache, KVCache) and len(kv_cache.layers) == self.config.n_layer,
            f"kv_cache must come from this model's new_kv_cache() ({self.config.n_layer} layers), "
            f"not {type(kv_cache).__name__}. Fix: kv_cache = model.new_kv_cache(batch_size).",
        )
        require(
            B == kv_cache.batch_size,
            f"The input holds {B} sequences but the KV cache was made for {kv_cache.batch_size}. "
            f"Fix: model.new_kv_cache({B}).",
        )
        past = kv_cache.length
        require(
            past + T <= bs,
            f"The KV cache holds {past} tokens; {T} more would pass the model's context (block_size {bs}), "
            f"where the position embeddings end. Fix: kv_cache.reset() and feed the last tokens again, "
            "at most block_size of them (generate() does this for you).",
        )
        return past

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
