"""Turning logits into text: greedy, temperature, top-k and top-p sampling, with or without a KV cache.

Also the one place that decides which tokens the model reads once the text outgrows its context
(`window_start`). The command line (`python -m helpers.sample`) lives in sample.py.
"""

from __future__ import annotations

import math
import numbers
import operator

import torch
from torch.nn import functional as F

from .errors import require

# Below this a temperature acts as this (already indistinguishable from greedy): dividing by less
# would overflow float32, or underflow the temperature itself to 0, and turn the probabilities into NaN.
SMALLEST_TEMPERATURE = torch.finfo(torch.float32).tiny


def is_number(value) -> bool:
    """A real number, NumPy scalars included (np.float32(0.7) as much as 0.7); not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def is_whole_number(value) -> bool:
    """An integer, NumPy integers included (np.int64(21) as much as 21); not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_seed(seed, name: str = "seed") -> int | None:
    """`seed` as a plain int (None stays None), or a WorkshopError naming the fix (`name`: as the caller calls it)."""
    if seed is None:
        return None
    require(
        is_whole_number(seed) and 0 <= seed < 2**63,
        f"{name}={seed} is invalid. Fix: use a whole number from 0 to 2**63 - 1 (e.g. 0 or 1337), or leave it out.",
    )
    return operator.index(seed)


def check_sampling_settings(
    temperature: float, top_k: int | None, top_p: float | None, vocab_size: int
) -> tuple[float, int | None, float | None]:
    """Reject settings that would silently produce garbage, naming the fix; return them as plain Python numbers.

    NumPy scalars (what arrays and some widgets hand over) are accepted like Python numbers.
    """
    require(
        is_number(temperature) and math.isfinite(temperature) and temperature >= 0,
        f"temperature={temperature} is invalid. Fix: use 0 for greedy (always the likeliest character), "
        "or a positive number (0.7 is a good start; above 1 gets wild).",
    )
    if top_k is not None:
        require(
            is_whole_number(top_k) and 1 <= top_k <= vocab_size,
            f"top_k={top_k} is invalid. Fix: use a whole number from 1 to the vocabulary size ({vocab_size}), "
            "or None to keep every character.",
        )
        top_k = operator.index(top_k)
    if top_p is not None:
        require(
            is_number(top_p) and 0 < top_p <= 1,
            f"top_p={top_p} is invalid. Fix: use a number in (0, 1] (e.g. 0.9), or None to switch it off.",
        )
        top_p = float(top_p)
    return float(temperature), top_k, top_p


def next_token_probs(
    logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None
) -> torch.Tensor:
    """Probabilities over the vocabulary from last-position `logits` (..., vocab) after all filters.

    temperature 0 puts all mass on the likeliest token (greedy; of tied tokens, the first).
    top_k keeps the k likeliest tokens *and every token tied with the k-th*: which of two equally
    likely tokens to drop would be arbitrary, so neither is (nanoGPT and Hugging Face do the same).
    """
    temperature, top_k, top_p = check_sampling_settings(temperature, top_k, top_p, logits.size(-1))
    logits = logits.float()
    if temperature == 0:
        return F.one_hot(logits.argmax(dim=-1), logits.size(-1)).float()
    # The largest logit shifted to 0 first (softmax does not change): a tiny temperature then sends the
    # others towards -inf, greedy in the limit, instead of overflowing to inf and NaN.
    logits = (logits - logits.amax(dim=-1, keepdim=True)) / max(temperature, SMALLEST_TEMPERATURE)
    if top_k is not None:
        kth_best = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth_best, float("-inf"))  # ties with the k-th stay
    probs = F.softmax(logits, dim=-1)
    if top_p is not None and top_p < 1:
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        mass_before = sorted_probs.cumsum(dim=-1) - sorted_probs
        sorted_probs = sorted_probs.masked_fill(mass_before >= top_p, 0.0)  # keep the smallest set reaching top_p
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
        probs = probs / probs.sum(dim=-1, keepdim=True)
    return probs


def window_start(length: int, block_size: int, slides: bool = False) -> int:
    """Where the model's context window begins when the text is `length` tokens long.

    Up to `block_size` tokens the model reads them all. Past that, a model with rotary positions (`slides`)
    reads the last `block_size` tokens: the window slides one token per step, and its KV cache slides with
    it (dropping the oldest keys), since attention there depends only on the distance between positions.

    With learned position embeddings the window cannot slide one token per step and keep a KV cache: each
    cached key was computed at its position in the window, and sliding moves every token to a new position,
    so every key would be recomputed at every step (no faster than no cache). So the window jumps instead:
    when it is full, it starts again from its last `block_size // 2` tokens and then grows one token per
    step until it is full again. With the cache, a jump costs one pass over half a window (a re-fill), and
    every other step one new position. The price: past `block_size`, the model reads between half and all
    of its context (3/4 on average), never less than half.

    Both paths of `generate` follow this one policy. With learned positions, the model reads the same tokens
    at the same positions with and without the cache: the same text, by construction. With a sliding cache
    the two agree within block_size and stay close past it, not equal: deeper layers' cached keys still
    carry the tokens that slid out (with one layer they are equal). The window depends on `length` alone,
    so generating 100 tokens and then 100 more gives what generating 200 does.
    """
    if length <= block_size:
        return 0
    if slides:
        return length - block_size
    jump = block_size - block_size // 2  # how far the window moves each time it is full
    return -(-(length - block_size) // jump) * jump  # the first multiple of `jump` that leaves ≤ block_size


@torch.no_grad()
def generate(
    model,
    idx: torch.Tensor,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    use_cache: bool = True,
) -> torch.Tensor:
    """Append `max_new_tokens` sampled tokens to `idx` (B, T), one at a time.

    Any prompt length works: the model reads the window that `window_start` picks, at most `block_size`
    tokens. With `use_cache` (the default) each step runs the model on the new token only, reusing the
    keys and values of the others (a KV cache; models without one, like the bigram, run without); the text
    is the same as with `use_cache=False` (with rotary positions past block_size: close, see window_start).
    With a `seed`, the same call gives the same text.
    """
    require(
        idx.dim() == 2 and idx.size(1) > 0,
        "The prompt is empty. Fix: give at least one character, e.g. '\\n' or 'ROMEO:'.",
    )
    require(
        is_whole_number(max_new_tokens) and max_new_tokens >= 0,
        f"max_new_tokens must be a whole number ≥ 0, not {max_new_tokens!r}.",
    )
    require(isinstance(use_cache, bool), f"use_cache must be True or False, not {use_cache!r}.")
    temperature, top_k, top_p = check_sampling_settings(temperature, top_k, top_p, model.config.vocab_size)
    seed = check_seed(seed)
    generator = None
    if seed is not None:
        generator = torch.Generator(device=idx.device).manual_seed(seed)
    was_training = model.training
    model.eval()
    block_size, slides = model.config.block_size, getattr(model.config, "rope", False)
    kv_cache = model.new_kv_cache(idx.size(0)) if use_cache and hasattr(model, "new_kv_cache") else None
    cached_from = None  # where the window held in the cache starts
    for _ in range(operator.index(max_new_tokens)):
        start = window_start(idx.size(1), block_size, slides)
        if kv_cache is None:
            logits, _ = model(idx[:, start:])
        elif cached_from is None or (start != cached_from and not slides):  # first step, or the window jumped
            kv_cache.reset()  # fill the cache afresh
            logits, _ = model(idx[:, start:], kv_cache=kv_cache)
            cached_from = start
        else:  # the window grew by the token sampled last (and, sliding, lost its oldest): one new token
            kv_cache.drop_oldest(start - cached_from)
            cached_from = start
            logits, _ = model(idx[:, -1:], kv_cache=kv_cache)
        probs = next_token_probs(logits[:, -1, :], temperature, top_k, top_p)
        next_id = torch.multinomial(probs, num_samples=1, generator=generator)
        idx = torch.cat((idx, next_id), dim=1)
    model.train(was_training)
    return idx


def sample_text(model, tokenizer, prompt: str = "\n", max_new_tokens: int = 300, **settings) -> str:
    """Prompt in, prompt + continuation out: the one-liner the notebooks and the CLI use."""
    what = "empty" if isinstance(prompt, str) else f"not text but a {type(prompt).__name__}"
    require(
        isinstance(prompt, str) and prompt != "",
        f"The prompt is {what}. Fix: give at least one character, e.g. '\\n' or 'ROMEO:'.",
    )
    require(
        tokenizer.vocab_size == model.config.vocab_size,
        f"The tokenizer knows {tokenizer.vocab_size} characters but the model's vocabulary has "
        f"{model.config.vocab_size}: they come from different texts or runs. Fix: use the tokenizer saved with "
        "the model (load_model(run) returns the two together).",
    )
    device = next(model.parameters()).device
    idx = torch.tensor([tokenizer.encode(prompt)], dtype=torch.long, device=device)
    return tokenizer.decode(generate(model, idx, max_new_tokens, **settings)[0])
