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


def padded_batch(examples: Sequence[tuple[Sequence[int], int]], pad_id: int, mask_prompt: bool = True):
    """Inputs and next-token targets of token sequences right-padded with `pad_id`: the one masking rule.

    `examples` holds (ids, n_prompt): a sequence and how many of its first tokens are the prompt. The targets
    are IGNORE on padding and (with `mask_prompt`) wherever the next token is still the prompt's (nothing to
    learn there, or nothing learnable), so the loss covers only what the model has to write.
    """
    longest = max(len(ids) for ids, _ in examples)
    padded = torch.tensor([list(ids) + [pad_id] * (longest - len(ids)) for ids, _ in examples])
    x, y = padded[:, :-1], padded[:, 1:].clone()
    position = torch.arange(longest - 1)  # y[:, i] is the token at position i + 1
    n_prompt = torch.tensor([n if mask_prompt else 0 for _, n in examples])
    length = torch.tensor([len(ids) for ids, _ in examples])
    y[(position[None] < n_prompt[:, None] - 1) | (position[None] >= length[:, None] - 1)] = IGNORE
    return x, y


def completion_batch(
    tokenizer: CharTokenizer, prompts: Sequence[str], completions: Sequence[str], pad: str, device="cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and next-token targets for prompt + completion texts, right-padded with `pad`; the loss counts
    the completions only (padded_batch)."""
    examples = [(tokenizer.encode(p + c), len(tokenizer.encode(p))) for p, c in zip(prompts, completions)]
    x, y = padded_batch(examples, tokenizer.encode(pad)[0])
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
