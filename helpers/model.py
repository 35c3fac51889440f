"""A GPT-2-style decoder-only transformer, one screen per idea.

token + position embeddings → n_layer × Block(LayerNorm → causal self-attention → +residual,
LayerNorm → MLP → +residual) → LayerNorm → linear head (tied to the token embedding).
With a KV cache (kv_cache.py), a forward pass reads only the new tokens and attends over the cached ones.

GPTConfig's defaults are GPT-2. Its other options are what today's models changed (notebook 10 measures each):
rotary positions instead of learned ones (`rope`), RMSNorm (`norm`), SwiGLU or ReLU² MLPs (`mlp`), normalised
queries and keys (`qk_norm`), fewer key/value heads than query heads (`n_kv_head`), an untied head
(`tie_weights=False`). The pieces themselves live in modern.py.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
from torch.nn import functional as F

from .errors import require
from .kv_cache import KVCache, LayerKVCache
from .modern import MLPS, NORMS, ReLUSquared, RMSNorm, SwiGLU, apply_rope, make_norm, rope_angles, rope_frequencies


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
    # Today's options (notebook 10); the defaults are GPT-2's, so older checkpoints load unchanged.
    rope: bool = False  # rotary position embeddings in attention instead of learned position embeddings
    rope_base: float = 10000.0  # the slowest pair turns once every ~2π·rope_base positions
    norm: str = "layernorm"  # or "rmsnorm"
    mlp: str = "gelu"  # or "swiglu" (Llama) or "relu2" (modded-nanogpt)
    qk_norm: bool = False  # RMSNorm on each head's queries and keys before the scores
    n_kv_head: int | None = None  # key/value heads (grouped-query attention); None = n_head
    tie_weights: bool = True  # the head reuses the token embedding matrix

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
        require(self.norm in NORMS, f"norm={self.norm!r} is unknown. Fix: use one of {', '.join(NORMS)}.")
        require(self.mlp in MLPS, f"mlp={self.mlp!r} is unknown. Fix: use one of {', '.join(MLPS)}.")
        if self.n_kv_head is not None:
            divisors = [h for h in range(1, self.n_head + 1) if self.n_head % h == 0]
            require(
                isinstance(self.n_kv_head, int) and self.n_kv_head > 0 and self.n_head % self.n_kv_head == 0,
                f"n_kv_head={self.n_kv_head!r} does not divide n_head={self.n_head}: in grouped-query attention "
                f"each key/value head serves the same number of query heads. Fix: pick n_kv_head from {divisors} "
                "(or None for one per query head).",
            )
        if self.rope:
            require(
                self.head_size % 2 == 0,
                f"rope=True needs an even head size, but n_embd / n_head = {self.n_embd} / {self.n_head} = "
                f"{self.head_size}: rotary embeddings turn the channels of each head in pairs. Fix: choose "
                "n_embd and n_head so that n_embd / n_head is even (e.g. n_embd a multiple of 2 × n_head).",
            )
            require(
                isinstance(self.rope_base, (int, float)) and self.rope_base > 1,
                f"rope_base={self.rope_base!r} is invalid. Fix: use a number above 1 (10000 is the usual).",
            )

    @property
    def head_size(self) -> int:
        return self.n_embd // self.n_head

    @property
    def kv_heads(self) -> int:
        """How many key/value heads attention computes (n_kv_head, or n_head when it is None)."""
        return self.n_kv_head or self.n_head

    def to_dict(self) -> dict:
        return asdict(self)


class CausalSelfAttention(nn.Module):
    """Every position attends to itself and the positions before it, in n_head heads at once.

    With n_kv_head < n_head (grouped-query attention) each key/value head serves n_head / n_kv_head
    query heads: fewer keys and values to compute and, above all, to keep in the KV cache.
    """

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head, self.head_size, self.n_kv_head = config.n_head, config.head_size, config.kv_heads
        self.fast = config.fast_attention
        self.dropout = config.dropout
        kv_size = self.n_kv_head * self.head_size
        # q for all heads, then k and v for the key/value heads (with n_kv_head = n_head: 3 × n_embd, as GPT-2)
        self.c_attn = nn.Linear(config.n_embd, config.n_embd + 2 * kv_size, bias=config.bias)
        if config.qk_norm:
            self.q_norm, self.k_norm = RMSNorm(self.head_size), RMSNorm(self.head_size)
        self.qk_norm = config.qk_norm
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        mask = torch.tril(torch.ones(config.block_size, config.block_size, dtype=torch.bool))
        self.register_buffer("causal_mask", mask, persistent=False)
        self.keep_weights = False  # set True to keep the attention weights (for heat maps)
        self.weights: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, kv_cache: LayerKVCache | None = None, rope=None) -> torch.Tensor:
        """`rope`: (cos, sin) of this call's positions when the model uses rotary embeddings, else None."""
        B, T, C = x.shape
        kv_size = self.n_kv_head * self.head_size
        q, k, v = self.c_attn(x).split([C, kv_size, kv_size], dim=2)
        # (B, T, C) -> (B, n_head, T, head_size): each head works on its own slice of channels
        q = q.view(B, T, self.n_head, self.head_size).transpose(1, 2)
        k, v = (t.view(B, T, self.n_kv_head, self.head_size).transpose(1, 2) for t in (k, v))
        if self.qk_norm:  # every query and key the same length: the scores cannot blow up
            q, k = self.q_norm(q), self.k_norm(k)
        if rope is not None:  # turn q and k by their positions' angles (v carries no position)
            q, k = apply_rope(q, *rope), apply_rope(k, *rope)
        if kv_cache is not None:
            k, v = kv_cache.append(k, v)  # the keys and values of every position so far, these T last
        if self.n_kv_head != self.n_head:  # each key/value head serves a group of query heads
            groups = self.n_head // self.n_kv_head
            k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)
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


def make_mlp(config: GPTConfig) -> nn.Module:
    """GPT-2's GELU MLP, Llama's SwiGLU or modded-nanogpt's ReLU², as `config.mlp` says."""
    if config.mlp == "swiglu":
        return SwiGLU(config.n_embd, config.bias, config.dropout)
    if config.mlp == "relu2":
        return ReLUSquared(config.n_embd, config.bias, config.dropout)
    return MLP(config)


class Block(nn.Module):
    """Pre-norm transformer block: communicate (attention), then compute (MLP), each a residual."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = make_norm(config.norm, config.n_embd, config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = make_norm(config.norm, config.n_embd, config.bias)
        self.mlp = make_mlp(config)

    def forward(self, x, kv_cache: LayerKVCache | None = None, rope=None):
        x = x + self.attn(self.ln_1(x), kv_cache, rope)
        x = x + self.mlp(self.ln_2(x))
        return x


class GPT(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        layers = dict(wte=nn.Embedding(config.vocab_size, config.n_embd))  # token embeddings
        if config.rope:  # positions enter attention as rotations: no position embeddings to learn
            self.register_buffer("rope_freqs", rope_frequencies(config.head_size, config.rope_base), persistent=False)
        else:
            layers["wpe"] = nn.Embedding(config.block_size, config.n_embd)  # position embeddings
        self.transformer = nn.ModuleDict(
            dict(
                **layers,
                drop=nn.Dropout(config.dropout),
                h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
                ln_f=make_norm(config.norm, config.n_embd, config.bias),
            )
        )
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        if config.tie_weights:
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
        """Every trainable number, counting a tied embedding/head matrix once."""
        return sum(p.numel() for p in self.parameters())

    def new_kv_cache(self, batch_size: int = 1) -> KVCache:
        """An empty KV cache for `batch_size` sequences: pass it to forward() as `kv_cache`."""
        return KVCache(self.config.n_layer, batch_size, capacity=self.config.block_size)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None, kv_cache: KVCache | None = None):
        """Logits for every position of `idx` (B, T), and the loss if `targets` are given.

        With a `kv_cache`, `idx` holds only the tokens after the cached ones: they get the positions that follow,
        and their keys and values are added to the cache. With rotary positions the cache may have dropped its
        oldest positions (kv_cache.drop_oldest): the new tokens are numbered after every position it has seen.
        """
        B, T = idx.shape
        require(
            T <= self.config.block_size,
            f"The input has {T} tokens but the model's context (block_size) is {self.config.block_size}. "
            "Fix: crop the input to its last block_size tokens (generate() does this for you).",
        )
        past = 0 if kv_cache is None else self._check_kv_cache(kv_cache, B, T)
        x, rope = self.transformer.wte(idx), None
        if self.config.rope:
            first = past + (kv_cache.dropped if kv_cache is not None else 0)
            rope = rope_angles(torch.arange(first, first + T, device=idx.device), self.rope_freqs)
        else:
            x = x + self.transformer.wpe(torch.arange(past, past + T, device=idx.device))
        x = self.transformer.drop(x)
        layer_caches = kv_cache.layers if kv_cache is not None else [None] * self.config.n_layer
        for block, layer_cache in zip(self.transformer.h, layer_caches):
            x = block(x, layer_cache, rope)
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
            self.config.rope or kv_cache.dropped == 0,
            "This KV cache has dropped its oldest positions, which only a model with rotary positions can "
            "follow (learned position embeddings would number the remaining ones wrongly). Fix: kv_cache.reset() "
            "and feed the last tokens again (generate() does this for you).",
        )
        fix = (
            "kv_cache.drop_oldest(n) to make room (rotary positions slide)"
            if self.config.rope
            else "kv_cache.reset() and feed the last tokens again, at most block_size of them"
        )
        require(
            past + T <= bs,
            f"The KV cache holds {past} tokens; {T} more would pass the model's context (block_size {bs}). "
            f"Fix: {fix} (generate() does this for you).",
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
