"""Models that only count: the reference points a trained model's loss is read against.

The unigram model predicts every character from its frequency in the training text, ignoring context;
the bigram table predicts it from the previous character (notebook 02 builds it by hand). Both are
fitted by counting on `train` with add-one smoothing (no character gets probability zero) and scored,
in nats per character like the models' losses, on any tokens. What this module does not know: anything
about GPTs or training; it takes 1-D tensors of token ids.
"""

from __future__ import annotations

import torch

from .errors import require


def _check(tokens: torch.Tensor, vocab_size: int, name: str) -> torch.Tensor:
    require(
        tokens.dim() == 1 and len(tokens) >= 2,
        f"{name} must be a 1-D tensor of at least 2 token ids, not shape {tuple(tokens.shape)}. "
        "Fix: pass a split such as corpus.train or corpus.val.",
    )
    require(
        int(tokens.min()) >= 0 and int(tokens.max()) < vocab_size,
        f"{name} holds ids outside 0…{vocab_size - 1}. Fix: pass the vocab_size of the tokenizer that made them.",
    )
    return tokens.detach().long().cpu()


def unigram_probs(train: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """(vocab_size,) probability of each character: its count in `train`, plus one, normalised."""
    counts = torch.bincount(_check(train, vocab_size, "train"), minlength=vocab_size).double() + 1.0
    return counts / counts.sum()


def bigram_probs(train: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """(vocab_size, vocab_size): row a holds P(next = b | current = a), counted in `train`, plus one."""
    train = _check(train, vocab_size, "train")
    counts = torch.ones(vocab_size, vocab_size, dtype=torch.float64)
    counts.index_put_((train[:-1], train[1:]), torch.ones(len(train) - 1, dtype=torch.float64), accumulate=True)
    return counts / counts.sum(dim=1, keepdim=True)


def unigram_loss(train: torch.Tensor, tokens: torch.Tensor, vocab_size: int) -> float:
    """Mean -ln P(character) over `tokens` (each but the first, like a model's targets) under train's frequencies."""
    tokens = _check(tokens, vocab_size, "tokens")
    return -unigram_probs(train, vocab_size)[tokens[1:]].log().mean().item()


def bigram_loss(train: torch.Tensor, tokens: torch.Tensor, vocab_size: int) -> float:
    """Mean -ln P(next | previous) over `tokens` under train's pair counts."""
    tokens = _check(tokens, vocab_size, "tokens")
    return -bigram_probs(train, vocab_size)[tokens[:-1], tokens[1:]].log().mean().item()
