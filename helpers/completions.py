"""Text as a prompt and a completion: batches whose loss counts only the completion, greedy writing
until an end marker, and exact grading of whole completions.

Shared by notebook 13 (sums) and notebook 14 (descriptions of images and sounds). It knows tokens
and tensors, not tasks or models: the model is reached through a `next_logits(idx)` function.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from .data import CharTokenizer

IGNORE = -100  # cross_entropy's ignore_index: a target that does not count in the loss


def completion_batch(
    tokenizer: CharTokenizer, prompts: Sequence[str], completions: Sequence[str], pad: str, device="cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and next-token targets for prompt + completion texts, right-padded with `pad`.

    The targets are IGNORE wherever the next token is part of the prompt (nothing to learn there, or
    nothing learnable) or padding, so the loss covers only what the model has to write.
    """
    texts = [p + c for p, c in zip(prompts, completions)]
    prompt_lengths = torch.tensor([len(p) for p in prompts])
    text_lengths = torch.tensor([len(t) for t in texts])
    longest = int(text_lengths.max())
    ids = torch.tensor([tokenizer.encode(t + pad * (longest - len(t))) for t in texts])
    x, y = ids[:, :-1], ids[:, 1:].clone()
    position = torch.arange(longest - 1)  # y[:, i] is the token at position i + 1
    outside = (position[None] < prompt_lengths[:, None] - 1) | (position[None] >= text_lengths[:, None] - 1)
    y[outside] = IGNORE
    return x.to(device), y.to(device)


def rows_exactly_right(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """(B,) bools: the top choice is the target at every position that counts.

    Fed the right text, a model that is right everywhere writes exactly that text when it writes
    greedily, and one that is wrong somewhere does not: one forward pass grades greedy writing.
    """
    return ((logits.argmax(-1) == targets) | (targets == IGNORE)).all(dim=1)


@torch.no_grad()
def write_greedily(
    next_logits: Callable[[torch.Tensor], torch.Tensor], idx: torch.Tensor, max_new_tokens: int, end_id: int
) -> torch.Tensor:
    """Append the likeliest token to every row of `idx` (B, T) until each row has written `end_id`
    (or `max_new_tokens` are written). `next_logits(idx)` gives the (B, vocab) scores for the next token."""
    finished = torch.zeros(idx.size(0), dtype=torch.bool, device=idx.device)
    for _ in range(max_new_tokens):
        next_id = next_logits(idx).argmax(-1)
        idx = torch.cat([idx, next_id[:, None]], dim=1)
        finished |= next_id == end_id
        if bool(finished.all()):
            break
    return idx


def cut_at(text: str, end: str) -> str | None:
    """`text` up to and including the first `end`; None if it never ends."""
    cut = text.find(end)
    return None if cut < 0 else text[: cut + 1]
