"""The fair comparison of tokenizers: bits per character on the val text, and the same training FLOPs."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from helpers import GPT, BPETokenizer, CharTokenizer, Corpus, GPTConfig, get_preset
from helpers.compare import bits_per_character, chars_per_token, flops_per_token, sample_chars, train_same_flops

TEXT = "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n" * 60


def model_for(tokenizer, block_size=16) -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=block_size, n_layer=1, n_head=2, n_embd=16))


@pytest.mark.parametrize(
    "tokenizer", [CharTokenizer.from_text(TEXT), BPETokenizer.train(TEXT, 290)], ids=["char", "bpe"]
)
def test_bits_per_character_is_the_total_loss_over_the_val_text_per_character(tokenizer):
    corpus = Corpus.from_tokenizer(TEXT, tokenizer)
    model = model_for(tokenizer).eval()
    result = bits_per_character(model, corpus, windows_per_batch=3, precision="fp32")

    nats, val, block = 0.0, corpus.val, model.config.block_size  # the same, one window at a time
    for start in range(0, len(val) - 1, block):
        x, y = val[start : start + block], val[start + 1 : start + 1 + block]
        with torch.no_grad():
            logits, _ = model(x[: len(y)][None])
        nats += F.cross_entropy(logits[0], y, reduction="sum").item()
    scored_text = corpus.val_text[len(tokenizer.decode(val[:1])) :]
    assert result["tokens"] == len(val) - 1 and result["chars"] == len(scored_text)
    assert result["bits_per_char"] == pytest.approx(nats / (math.log(2) * len(scored_text)), rel=1e-5)
    assert result["loss_per_token"] == pytest.approx(nats / (len(val) - 1), rel=1e-5)


def test_for_characters_bits_per_character_is_the_loss_in_bits():
    tokenizer = CharTokenizer.from_text(TEXT)
    result = bits_per_character(model_for(tokenizer), Corpus.from_tokenizer(TEXT, tokenizer), precision="fp32")
    assert result["chars_per_token"] == 1.0
    assert result["bits_per_char"] == pytest.approx(result["loss_per_token"] / math.log(2))


def test_bpe_carries_more_characters_per_token():
    bpe = BPETokenizer.train(TEXT, 300)
    assert chars_per_token(CharTokenizer.from_text(TEXT), TEXT) == 1.0
    assert chars_per_token(bpe, TEXT) > chars_per_token(bpe.truncated(270), TEXT) > 1.0


def test_flops_per_token_is_nanogpts_count_and_grows_with_the_vocabulary():
    small, large = model_for(CharTokenizer.from_text(TEXT)), model_for(BPETokenizer.train(TEXT, 300))
    c = small.config
    assert flops_per_token(small) == 6 * small.num_params() + 12 * c.n_layer * c.n_embd * c.block_size
    assert flops_per_token(large) - flops_per_token(small) == 6 * c.n_embd * (300 - c.vocab_size)


def test_same_flops_gives_a_larger_vocabulary_fewer_steps():
    _, preset = get_preset("smoke")
    tokenizers = {"char": CharTokenizer.from_text(TEXT), "bpe": BPETokenizer.train(TEXT, 300)}
    rows = train_same_flops(TEXT, tokenizers, preset, steps=12)
    char, bpe = rows
    assert char["steps"] == 12 and bpe["steps"] < 12
    per_step = [row["train_flops"] / row["steps"] for row in rows]
    assert abs(char["train_flops"] - bpe["train_flops"]) <= max(per_step) / 2  # equal, to the nearest step
    for row in rows:
        assert math.isfinite(row["bits_per_char"]) and row["tokens"] > 0
        assert sample_chars(row["model"], row["tokenizer"], "To be", 40, seed=0).startswith("To be")
        assert len(sample_chars(row["model"], row["tokenizer"], "To be", 40, seed=0)) == len("To be") + 40
