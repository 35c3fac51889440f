"""The counting baselines (helpers.baselines): exact on a text small enough to count by hand; clear errors."""

import math

import pytest
import torch

from helpers import WorkshopError
from helpers.baselines import bigram_loss, bigram_probs, unigram_loss, unigram_probs


def test_unigram_counts_plus_one():
    train = torch.tensor([0, 0, 0, 1])  # counts 3, 1, 0 → plus one: 4, 2, 1 out of 7
    torch.testing.assert_close(unigram_probs(train, 3), torch.tensor([4, 2, 1], dtype=torch.float64) / 7)
    # scored on the targets (each id but the first), like a model's loss
    assert math.isclose(unigram_loss(train, torch.tensor([2, 0, 1]), 3), -(math.log(4 / 7) + math.log(2 / 7)) / 2)


def test_bigram_rows_are_next_character_distributions():
    train = torch.tensor([0, 1, 0, 1, 2])  # pairs 0→1 twice, 1→0 once, 1→2 once
    probs = bigram_probs(train, 3)
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(3, dtype=torch.float64))
    torch.testing.assert_close(probs[0], torch.tensor([1, 3, 1], dtype=torch.float64) / 5)
    assert math.isclose(bigram_loss(train, torch.tensor([0, 1]), 3), -math.log(3 / 5))


def test_context_helps_on_text_with_structure():
    text = torch.tensor([0, 1, 2] * 50)  # each id fixes the next: the bigram knows, the unigram cannot
    assert bigram_loss(text, text, 3) < 0.1 < math.log(3) - 0.01 < unigram_loss(text, text, 3)


@pytest.mark.parametrize(
    "tokens, problem",
    [(torch.tensor([[0, 1]]), "1-D"), (torch.tensor([1]), "at least 2"), (torch.tensor([0, 5]), "outside")],
)
def test_bad_tokens_are_named(tokens, problem):
    with pytest.raises(WorkshopError, match=problem):
        unigram_loss(torch.tensor([0, 1, 2]), tokens, 3)
    with pytest.raises(WorkshopError, match=problem):
        bigram_probs(tokens, 3)
