"""The ablation ladder (helpers.ladder): every rung is a causal language model, training lowers its loss,
and a bad rung name is refused with the names that work."""

import pytest
import torch

from helpers import Corpus, WorkshopError
from helpers.ladder import RUNGS, LadderConfig, LadderModel, climb, split_loss

TEXT = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n" * 40


@pytest.mark.parametrize("rung", RUNGS)
def test_each_rung_predicts_every_position_without_seeing_the_future(rung):
    torch.manual_seed(0)
    model = LadderModel(rung, 20).eval()
    idx = torch.randint(20, (2, 8))
    changed = idx.clone()
    changed[:, 5:] = (idx[:, 5:] + 1) % 20
    with torch.no_grad():
        logits, _ = model(idx)
        assert logits.shape == (2, 8, 20)
        torch.testing.assert_close(model(changed)[0][:, :5], logits[:, :5])  # positions 0..4 never see 5..7


def test_only_the_bigram_ignores_the_earlier_characters():
    idx = torch.tensor([[1, 2, 3, 4]])
    earlier_changed = torch.tensor([[9, 9, 9, 4]])
    for rung in RUNGS:
        torch.manual_seed(0)
        model = LadderModel(rung, 10).eval()
        with torch.no_grad():
            same = torch.allclose(model(idx)[0][0, -1], model(earlier_changed)[0][0, -1])
        assert same == (rung == "bigram"), rung


def test_climbing_lowers_each_rungs_loss_below_its_start():
    corpus = Corpus.load(text=TEXT)
    cfg = LadderConfig(steps=60, batch_size=16)
    for result in climb(corpus, rungs=("bigram", "+ residual & LayerNorm"), cfg=cfg):
        torch.manual_seed(cfg.seed)
        untrained = split_loss(LadderModel(result["rung"], corpus.tokenizer.vocab_size, cfg), corpus.val)
        assert result["val_loss"] < untrained - 0.3, result
        assert result["params"] > 0 and result["seconds"] > 0


def test_unknown_rung_names_the_known_ones():
    with pytest.raises(WorkshopError, match="one head"):
        LadderModel("two heads", 10)
