"""The bigram model of notebook 02: a sane first loss, generation through helpers.generate, clear errors."""

import math

import pytest
import torch

from helpers import WorkshopError, generate
from helpers.bigram import BigramLanguageModel


def test_first_loss_is_a_uniform_guess():
    torch.manual_seed(0)
    model = BigramLanguageModel(65)
    idx = torch.randint(65, (8, 16))
    logits, loss = model(idx, torch.randint(65, (8, 16)))
    assert logits.shape == (8, 16, 65)
    assert abs(loss.item() - math.log(65)) < 0.05


def test_prediction_depends_on_the_last_character_only():
    model = BigramLanguageModel(10)
    a, _ = model(torch.tensor([[1, 2, 3]]))
    b, _ = model(torch.tensor([[7, 3]]))
    assert torch.equal(a[0, -1], b[0, -1])


def test_generate_works_with_a_context_of_one():
    model = BigramLanguageModel(10)
    out = generate(model, torch.tensor([[1, 2, 3]]), max_new_tokens=5, seed=0)
    assert out.shape == (1, 8) and torch.equal(out[0, :3], torch.tensor([1, 2, 3]))


def test_bad_vocab_size_names_the_fix():
    with pytest.raises(WorkshopError, match="tokenizer.vocab_size"):
        BigramLanguageModel(0)
