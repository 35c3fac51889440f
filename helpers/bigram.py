"""The bigram language model of notebook 02: the next character depends on the current one only.

One table of vocab × vocab numbers: row i holds the logits (unnormalised scores) for the
character that follows character i. It has no context beyond one character, which is the
point: its gibberish shows what attention (notebook 03) has to add.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
from torch.nn import functional as F

from .errors import require


@dataclass
class BigramConfig:
    vocab_size: int = 65
    block_size: int = 1  # the model only ever looks at the last character (generate() crops to this)

    def __post_init__(self):
        require(
            isinstance(self.vocab_size, int) and self.vocab_size > 0,
            f"BigramConfig.vocab_size must be a positive integer, not {self.vocab_size!r}. "
            "Fix: pass tokenizer.vocab_size.",
        )


class BigramLanguageModel(nn.Module):
    def __init__(self, vocab_size: int):
        super().__init__()
        self.config = BigramConfig(vocab_size)
        self.token_logits = nn.Embedding(vocab_size, vocab_size)  # row = current char, column = next char
        # Small weights (as in GPT): every next character starts out about equally likely, loss ≈ ln(vocab).
        nn.init.normal_(self.token_logits.weight, mean=0.0, std=0.02)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        logits = self.token_logits(idx)  # (B, T, vocab): a table lookup, nothing more
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1))
        return logits, loss
