"""Notebook 08 exercise: turn a loss per token into bits per character, the measure any two tokenizers share."""

from __future__ import annotations

import math

from ..bpe import BPETokenizer
from ..data import CharTokenizer
from . import attempt, report

TEXT = "ROMEO:\nBut soft, what light through yonder window breaks?\nIt is the east, and Juliet is the sun.\n"


def solution_bits_per_char(loss_per_token: float, tokenizer, text: str) -> float:
    """A model's mean loss (nats per token) on `text` → bits per character: total nats / (ln 2 × characters)."""
    n_tokens = len(tokenizer.encode(text))
    return loss_per_token * n_tokens / (math.log(2) * len(text))


def check_bits_per_char(your_fn) -> bool:
    """Runs `your_fn(loss_per_token, tokenizer, text)` with a character and a BPE tokenizer."""
    tokenizers = {
        "the character tokenizer": CharTokenizer.from_text(TEXT),
        "a BPE tokenizer": BPETokenizer.train(TEXT * 3, 280),
    }
    for name, tokenizer in tokenizers.items():
        for loss, text in [(1.5, TEXT), (4.0, TEXT[:40]), (0.8, TEXT[40:])]:
            want = solution_bits_per_char(loss, tokenizer, text)
            got, problem = attempt(your_fn, loss, tokenizer, text, where=f" with {name}", returns="bits")
            if problem:
                return report(False, "", problem)
            try:
                got = float(got)
            except (TypeError, ValueError):
                return report(False, "", f"return a number, not {type(got).__name__}.")
            if math.isclose(got, want, rel_tol=1e-6):
                continue
            n_tokens = len(tokenizer.encode(text))
            if math.isclose(got, loss / math.log(2), rel_tol=1e-6) and n_tokens != len(text):
                hint = "that is bits per *token*: a BPE token carries several characters, so divide the total by the characters."
            elif math.isclose(got, want * math.log(2), rel_tol=1e-6):
                hint = "that is nats per character: the loss is in nats (natural log); divide by ln 2 = math.log(2) for bits."
            else:
                hint = "total nats = loss_per_token × number of tokens (len(tokenizer.encode(text))); divide by ln 2 × len(text)."
            return report(
                False,
                "",
                f"with {name}, a loss of {loss} on {len(text)} characters is {want:.4f} bits per "
                f"character, you gave {got:.4f}. Hint: {hint}",
            )
    return report(True, "bits per character: the same yardstick for characters and BPE.", "")
