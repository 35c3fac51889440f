"""helpers.completions: the one masking rule that notebooks 12, 13 and 14 batch with."""

import torch

from helpers.completions import IGNORE, completion_batch, padded_batch
from helpers.data import CharTokenizer
from helpers.post_training import ChatTokenizer, chat_ids, masked_batch

TOKENIZER = CharTokenizer.from_text("0123456789+=. ")


def test_targets_count_from_the_last_prompt_token_to_the_end_and_never_on_padding():
    x, y = padded_batch([([1, 2, 3, 4, 5], 3), ([6, 7, 8], 1)], pad_id=0)
    assert x.tolist() == [[1, 2, 3, 4], [6, 7, 8, 0]]
    assert y.tolist() == [[IGNORE, IGNORE, 4, 5], [7, 8, IGNORE, IGNORE]]
    _, unmasked = padded_batch([([1, 2, 3, 4, 5], 3), ([6, 7, 8], 1)], pad_id=0, mask_prompt=False)
    assert unmasked.tolist() == [[2, 3, 4, 5], [7, 8, IGNORE, IGNORE]]


def test_an_empty_prompt_masks_nothing_but_padding():
    _, y = padded_batch([([1, 2, 3], 0), ([4, 5, 6, 7], 0)], pad_id=0)
    assert y.tolist() == [[2, 3, IGNORE], [5, 6, 7]]


def test_text_completions_and_chat_turns_are_batched_by_the_same_rule():
    prompts, completions = ["12+3=", "1+2="], ["15.", "3."]
    x, y = completion_batch(TOKENIZER, prompts, completions, pad=" ")
    examples = [(TOKENIZER.encode(p + c), len(p)) for p, c in zip(prompts, completions)]
    x_ids, y_ids = padded_batch(examples, TOKENIZER.encode(" ")[0])
    assert torch.equal(x, x_ids) and torch.equal(y, y_ids)

    chat = ChatTokenizer(CharTokenizer.from_text("abc:\n. "))
    turns = [chat_ids(chat, "a b.", "c:\nab."), chat_ids(chat, "c.", "a:\nb.")]
    for mask_prompt in (True, False):
        assert all(
            torch.equal(a, b)
            for a, b in zip(masked_batch(turns, 64, 0, mask_prompt), padded_batch(turns, 0, mask_prompt))
        )
