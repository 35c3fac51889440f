"""helpers.post_training: masking, vocabulary growth, the DPO loss, the data builders, and their bad inputs."""

import math

import pytest
import torch
from torch.nn import functional as F

from helpers import GPT, GPTConfig
from helpers.data import CharTokenizer
from helpers.errors import WorkshopError
from helpers.post_training import (
    END,
    IGNORE_INDEX,
    ChatTokenizer,
    bigram_log_probs,
    chat_ids,
    corrupt_lines,
    dialogue_pairs,
    dpo_loss,
    filter_lines,
    follows_format,
    grow_vocabulary,
    masked_batch,
    question_preferences,
    repeat_part,
    reply_log_probs,
    speeches,
)

PLAY = (
    "First Citizen:\nBefore we proceed any further, hear me speak.\n\n"
    "All:\nSpeak, speak.\n\n"
    "First Citizen:\nYou are all resolved rather to die than to famish?\n\n"
    "All:\nResolved. resolved.\n\n"
    "First Citizen:\nFirst, you know Caius Marcius is chief enemy to the people.\n\n"
    "All:\nWe know't, we know't?\n"
)


@pytest.fixture
def chat():
    return ChatTokenizer(CharTokenizer.from_text(PLAY))


def tiny_model(vocab_size, block_size=96, seed=0):
    torch.manual_seed(seed)
    return GPT(GPTConfig(vocab_size=vocab_size, block_size=block_size, n_layer=1, n_head=2, n_embd=16, dropout=0.0))


def test_special_tokens_take_the_ids_after_the_characters_and_round_trip(chat):
    base = chat.base
    text = "<|user|>Speak.<|assistant|>All:\nWe know't.<|end|>"
    ids = chat.encode(text)
    assert chat.decode(ids) == text
    assert ids[0] == base.vocab_size and ids[-1] == base.vocab_size + 2
    assert chat.encode("Speak.") == base.encode("Speak.")  # old ids keep their meaning


@pytest.mark.parametrize("special", [":", "a", "", "<|end|>"])
def test_a_special_token_that_collides_or_repeats_is_refused(special):
    base = CharTokenizer.from_text(PLAY)
    specials = ("<|end|>", special)
    with pytest.raises(WorkshopError, match="collides|distinct"):
        ChatTokenizer(base, specials)


def test_growing_the_vocabulary_keeps_every_old_tokens_logits(chat):
    model = tiny_model(chat.base.vocab_size).eval()
    idx = torch.tensor([chat.encode("All:\nSpeak, speak.")])
    before, _ = model(idx)
    grow_vocabulary(model, chat.vocab_size)
    after, _ = model(idx)
    assert after.shape[-1] == chat.vocab_size
    torch.testing.assert_close(after[..., : chat.base.vocab_size], before, rtol=0, atol=0)
    assert model.lm_head.weight is model.transformer.wte.weight  # still tied
    assert model.config.vocab_size == chat.vocab_size
    model(torch.tensor([chat.encode("<|user|>Speak.<|assistant|>")]))  # the new ids can be read


def test_the_vocabulary_cannot_shrink(chat):
    with pytest.raises(WorkshopError, match="cannot shrink"):
        grow_vocabulary(tiny_model(chat.base.vocab_size), chat.base.vocab_size - 1)


def test_the_masked_loss_and_its_gradients_are_the_responses_alone(chat):
    """Whatever the prompt's targets are, masked they change nothing: the loss and every gradient equal
    those of a cross-entropy taken over the response's positions only."""
    model = tiny_model(chat.vocab_size)
    example = chat_ids(chat, "Speak.", "All:\nResolved.")
    n_prompt = example[1]
    x, y = masked_batch([example], model.config.block_size, pad_id=chat.special_ids[END])
    assert (y[0, : n_prompt - 1] == IGNORE_INDEX).all() and (y[0, n_prompt - 1 :] != IGNORE_INDEX).all()

    def loss_and_grads(loss_of):
        model.zero_grad()
        loss = loss_of()
        loss.backward()
        return loss.detach(), [p.grad.clone() for p in model.parameters()]

    masked = loss_and_grads(lambda: model(x, y)[1])

    def response_only():
        logits, _ = model(x)
        return F.cross_entropy(logits[0, n_prompt - 1 :], y[0, n_prompt - 1 :])

    by_hand = loss_and_grads(response_only)
    torch.testing.assert_close(masked[0], by_hand[0])
    for a, b in zip(masked[1], by_hand[1]):
        torch.testing.assert_close(a, b)
    _, y_unmasked = masked_batch([example], model.config.block_size, chat.special_ids[END], mask_prompt=False)
    assert model(x, y_unmasked)[1].item() != masked[0].item()  # unmasked, the prompt is graded too


def test_padding_never_counts(chat):
    short, long = chat_ids(chat, "Speak.", "All:\nAy."), chat_ids(chat, "Speak.", "All:\nResolved, resolved.")
    x, y = masked_batch([short, long], 96, pad_id=chat.special_ids[END])
    assert x.shape == (2, len(long[0]) - 1)
    assert (y[0, len(short[0]) - 1 :] == IGNORE_INDEX).all()


def test_an_empty_batch_and_a_turn_longer_than_the_context_are_named(chat):
    with pytest.raises(WorkshopError, match="No examples"):
        masked_batch([], 32, pad_id=0)
    with pytest.raises(WorkshopError, match="max_prompt_chars"):
        masked_batch([chat_ids(chat, "Speak, speak. " * 5, "All:\nAy.")], 32, pad_id=0)


def test_dialogue_pairs_come_from_the_corpus_in_order():
    pairs = dialogue_pairs(PLAY, max_prompt_chars=20, max_reply_chars=40)
    assert pairs[0] == ("Before we proceed any further, hear me speak."[-20:], "All:\nSpeak, speak.")
    position = 0
    for cue, reply in pairs:
        cue_at = PLAY.index(cue, position)
        reply_at = PLAY.index(reply, cue_at)
        assert PLAY[cue_at + len(cue) : reply_at] == "\n\n"  # the reply is the very next speech
        assert len(cue) <= 20 and len(reply) <= 40
        position = reply_at
    assert len(speeches(PLAY)) == 6


def test_follows_format():
    assert follows_format("All:\nSpeak, speak.<|end|> whatever")
    assert not follows_format("All:\nSpeak, speak.")  # never ends its turn
    assert not follows_format("speak, speak.<|end|>")  # no speaker line
    assert not follows_format("All:\n<|end|>")  # says nothing
    assert not follows_format("All:\nSpeak <|user|>x<|end|>")  # writes the user's turn


def test_question_preferences_differ_only_in_the_last_character_and_are_balanced():
    pairs = [("a", "All:\nResolved."), ("b", "All:\nAy!"), ("c", "All:\nWe know't?"), ("d", "All:\nNo.")]
    prefs = question_preferences(pairs)
    assert [p for p, _, _ in prefs] == ["a", "c"]  # one of each ending, in order; '!' has no twin
    for _, chosen, rejected in prefs:
        assert chosen.endswith("?") and rejected.endswith(".") and chosen[:-1] == rejected[:-1]
    originals = {r for _, r in pairs}
    assert sum(c in originals for _, c, _ in prefs) == sum(r in originals for _, _, r in prefs) == 1


def test_dpo_loss_is_log_two_when_the_policy_is_the_reference():
    logps = torch.tensor([-12.0, -3.5, -40.0])
    other = torch.tensor([-10.0, -9.0, -1.0])
    loss = dpo_loss(logps, other, logps, other, beta=0.1)
    assert loss.item() == pytest.approx(math.log(2))


def test_dpo_loss_matches_a_hand_computation():
    # policy: chosen -1, rejected -3; reference: chosen -2, rejected -2 -> margin (1) - (-1) = 2
    loss = dpo_loss(torch.tensor([-1.0]), torch.tensor([-3.0]), torch.tensor([-2.0]), torch.tensor([-2.0]), beta=0.5)
    assert loss.item() == pytest.approx(-math.log(1 / (1 + math.exp(-0.5 * 2))))
    with pytest.raises(WorkshopError, match="beta"):
        dpo_loss(torch.zeros(1), torch.zeros(1), torch.zeros(1), torch.zeros(1), beta=0)


def test_reply_log_probs_sum_the_replys_tokens_only(chat):
    model = tiny_model(chat.vocab_size).eval()
    logp, n = reply_log_probs(model, chat, ["Speak."], ["All:\nAy."])
    ids, n_prompt = chat_ids(chat, "Speak.", "All:\nAy.")
    logits, _ = model(torch.tensor([ids[:-1]]))
    by_hand = F.log_softmax(logits[0], -1)[torch.arange(len(ids) - 1), torch.tensor(ids[1:])][n_prompt - 1 :].sum()
    assert n.item() == len(ids) - n_prompt
    torch.testing.assert_close(logp[0], by_hand)


def test_corrupted_lines_keep_length_and_alphabet_and_the_filter_finds_them():
    text = "\n".join(PLAY.split("\n") * 40)
    noisy = corrupt_lines(text, share=0.3, seed=1)
    assert len(noisy) == len(text) and set(noisy) <= set(text)
    lines, noisy_lines = text.split("\n"), noisy.split("\n")
    broken = {i for i, (a, b) in enumerate(zip(lines, noisy_lines)) if a != b}
    assert abs(len(broken) - 0.3 * sum(1 for line in lines if line.strip())) <= 1
    kept = filter_lines(noisy, CharTokenizer.from_text(text), drop_share=0.3).split("\n")
    survivors = [noisy_lines[i] for i in broken if noisy_lines[i] in kept]
    assert len(survivors) < 0.2 * len(broken)  # most noise is gone


def test_the_filters_bigram_table_is_notebook_02s_table_and_notebook_12s_by_hand():
    """helpers.baselines.bigram_probs, as log-probabilities in float32, bit for bit what notebook 12 builds by
    hand in float32 (its drift check compares the filtered texts, which a one-ulp difference could change)."""
    text = corrupt_lines(PLAY * 20, 0.3, seed=1)
    tokenizer = CharTokenizer.from_text(text)
    ids = torch.tensor(tokenizer.encode(text))
    counts = torch.ones(tokenizer.vocab_size, tokenizer.vocab_size)
    counts.index_put_((ids[:-1], ids[1:]), torch.ones(len(ids) - 1), accumulate=True)
    by_hand = (counts / counts.sum(dim=1, keepdim=True)).log()
    table = bigram_log_probs(text, tokenizer)
    assert table.dtype == torch.float32 and torch.equal(table, by_hand)


def test_repeat_part_has_the_same_length_and_only_the_part():
    text = PLAY * 10
    repeated = repeat_part(text, share=0.05)
    assert len(repeated) == len(text)
    part = text[: round(0.05 * len(text))]
    assert repeated.startswith(part + part)


@pytest.mark.parametrize("share", [-0.1, 1.5])
def test_shares_outside_zero_to_one_are_refused(share):
    with pytest.raises(WorkshopError, match="share"):
        corrupt_lines(PLAY, share)
    with pytest.raises(WorkshopError, match="share"):
        repeat_part(PLAY, share)
    with pytest.raises(WorkshopError, match="drop_share"):
        filter_lines(PLAY, CharTokenizer.from_text(PLAY), share)
