"""Turning logits into text: greedy, temperature, top-k and top-p sampling.

The command line (`python -m helpers.sample`) lives in sample.py.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from .errors import require


def check_sampling_settings(temperature: float, top_k: int | None, top_p: float | None, vocab_size: int) -> None:
    """Reject settings that would silently produce garbage, naming the fix."""
    require(
        isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature >= 0,
        f"temperature={temperature} is invalid. Fix: use 0 for greedy (always the likeliest character), "
        "or a positive number (0.7 is a good start; above 1 gets wild).",
    )
    if top_k is not None:
        require(
            isinstance(top_k, int) and 1 <= top_k <= vocab_size,
            f"top_k={top_k} is invalid. Fix: use a whole number from 1 to the vocabulary size ({vocab_size}), "
            "or None to keep every character.",
        )
    if top_p is not None:
        require(
            isinstance(top_p, (int, float)) and 0 < top_p <= 1,
            f"top_p={top_p} is invalid. Fix: use a number in (0, 1] (e.g. 0.9), or None to switch it off.",
        )


def next_token_probs(
    logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None
) -> torch.Tensor:
    """Probabilities over the vocabulary from last-position `logits` (..., vocab) after all filters.

    temperature 0 puts all mass on the likeliest token (greedy).
    """
    check_sampling_settings(temperature, top_k, top_p, logits.size(-1))
    logits = logits.float()
    if temperature == 0:
        return F.one_hot(logits.argmax(dim=-1), logits.size(-1)).float()
    logits = logits / temperature
    if top_k is not None:
        kth_best = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth_best, float("-inf"))
    probs = F.softmax(logits, dim=-1)
    if top_p is not None and top_p < 1:
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        mass_before = sorted_probs.cumsum(dim=-1) - sorted_probs
        sorted_probs = sorted_probs.masked_fill(mass_before >= top_p, 0.0)  # keep the smallest set reaching top_p
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
        probs = probs / probs.sum(dim=-1, keepdim=True)
    return probs


@torch.no_grad()
def generate(
    model,
    idx: torch.Tensor,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
) -> torch.Tensor:
    """Append `max_new_tokens` sampled tokens to `idx` (B, T), one at a time.

    The context is cropped to the model's last `block_size` tokens, so any prompt length works.
    With a `seed`, the same call gives the same text.
    """
    require(
        idx.dim() == 2 and idx.size(1) > 0,
        "The prompt is empty. Fix: give at least one character, e.g. '\\n' or 'ROMEO:'.",
    )
    require(
        isinstance(max_new_tokens, int) and max_new_tokens >= 0,
        f"max_new_tokens must be a whole number ≥ 0, not {max_new_tokens!r}.",
    )
    check_sampling_settings(temperature, top_k, top_p, model.config.vocab_size)
    generator = None
    if seed is not None:
        generator = torch.Generator(device=idx.device).manual_seed(seed)
    was_training = model.training
    model.eval()
    block_size = model.config.block_size
    for _ in range(max_new_tokens):
        logits, _ = model(idx[:, -block_size:])
        probs = next_token_probs(logits[:, -1, :], temperature, top_k, top_p)
        next_id = torch.multinomial(probs, num_samples=1, generator=generator)
        idx = torch.cat((idx, next_id), dim=1)
    model.train(was_training)
    return idx


def sample_text(model, tokenizer, prompt: str = "\n", max_new_tokens: int = 300, **settings) -> str:
    """Prompt in, prompt + continuation out: the one-liner the notebooks and the CLI use."""
    require(len(prompt) > 0, "The prompt is empty. Fix: give at least one character, e.g. '\\n' or 'ROMEO:'.")
    device = next(model.parameters()).device
    idx = torch.tensor([tokenizer.encode(prompt)], dtype=torch.long, device=device)
    return tokenizer.decode(generate(model, idx, max_new_tokens, **settings)[0])
