"""Post-training in miniature (notebook 12): the data and the losses, not the training loops.

Three experiments on the model an attendee trained in notebook 05:
- data quality: the train text with a share of its lines turned to noise, or made of repeats of a small part,
  and a quality filter (a bigram model of the noisy text itself scores each line; the worst are dropped);
- supervised fine-tuning (SFT): a speech's last line as the prompt, the reply that follows it in the play as
  the response, between turn markers that are new tokens; the loss counts the response only;
- preference tuning (DPO): pairs of replies that differ in one property (a reply that ends on a question
  against the same reply ending on a full stop), and the DPO loss against a frozen reference model.

It knows text, token ids and a GPT's weights. It knows nothing about optimizers, devices, plots or how long
to train: the notebook writes those loops, short, where they teach.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence

import torch
from torch.nn import functional as F

from .baselines import bigram_probs
from .completions import IGNORE as IGNORE_INDEX  # the target value the loss skips, one constant for both
from .completions import padded_batch
from .data import CharTokenizer
from .errors import require
from .model import GPT

# --------------------------------------------------------------------------------------------
# Data quality


def nonblank_line_numbers(lines: Sequence[str]) -> list[int]:
    return [i for i, line in enumerate(lines) if line.strip()]


def corrupt_lines(text: str, share: float, seed: int = 0) -> str:
    """`text` with `share` of its non-blank lines replaced by noise of the same length: characters drawn
    from the text's own (so the tokenizer stays the same), uniformly, as a broken scrape would look."""
    require(0.0 <= share <= 1.0, f"share must be between 0 and 1, not {share!r}.")
    rng = random.Random(seed)
    alphabet = sorted(set(text) - {"\n"})
    require(alphabet, "The text has no characters besides newlines. Fix: pass the corpus text.")
    lines = text.split("\n")
    candidates = nonblank_line_numbers(lines)
    for i in rng.sample(candidates, round(share * len(candidates))):
        lines[i] = "".join(rng.choice(alphabet) for _ in lines[i])
    return "\n".join(lines)


def repeat_part(text: str, share: float) -> str:
    """A text as long as `text` made of its first `share` repeated: the same amount of data, far less of it new."""
    require(0.0 < share <= 1.0, f"share must be above 0 and at most 1, not {share!r}.")
    part = text[: max(1, round(share * len(text)))]
    return (part * math.ceil(len(text) / len(part)))[: len(text)]


def bigram_log_probs(text: str, tokenizer: CharTokenizer) -> torch.Tensor:
    """(vocab, vocab) log P(next | current) counted on `text`, add-one smoothed: notebook 02's count table
    (helpers.baselines.bigram_probs), in float32 as notebook 12 builds it by hand. Exact counts over a
    float64 division rounded to float32 are the float32 division itself, so the two tables are equal."""
    return bigram_probs(torch.tensor(tokenizer.encode(text)), tokenizer.vocab_size).float().log()


def line_scores(lines: Sequence[str], log_probs: torch.Tensor, tokenizer: CharTokenizer) -> list[float]:
    """Each line's mean log-probability per character transition under the bigram table (blank: 0)."""
    scores = []
    for line in lines:
        ids = tokenizer.encode("\n" + line)  # the newline before it: a line's first character counts too
        pairs = torch.tensor(ids)
        scores.append(log_probs[pairs[:-1], pairs[1:]].mean().item() if len(ids) > 1 else 0.0)
    return scores


def filter_lines(text: str, tokenizer: CharTokenizer, drop_share: float) -> str:
    """`text` without the `drop_share` of its non-blank lines that its own bigram model finds least likely.

    No clean reference is needed: most of the text is good, so its statistics are good text's statistics.
    """
    require(0.0 <= drop_share < 1.0, f"drop_share must be at least 0 and below 1, not {drop_share!r}.")
    lines = text.split("\n")
    candidates = nonblank_line_numbers(lines)
    scores = line_scores([lines[i] for i in candidates], bigram_log_probs(text, tokenizer), tokenizer)
    ranked = sorted(zip(scores, candidates))
    dropped = {i for _, i in ranked[: round(drop_share * len(candidates))]}
    return "\n".join(line for i, line in enumerate(lines) if i not in dropped)


# --------------------------------------------------------------------------------------------
# Special tokens and a model that grows to fit them

USER, ASSISTANT, END = "<|user|>", "<|assistant|>", "<|end|>"
CHAT_TOKENS = (USER, ASSISTANT, END)


class ChatTokenizer:
    """A character tokenizer plus special tokens, which take the ids after the characters' (so every old id
    keeps its meaning, and its row in the embedding)."""

    def __init__(self, base: CharTokenizer, specials: Sequence[str] = CHAT_TOKENS):
        require(len(specials) > 0 and len(set(specials)) == len(specials), "Special tokens must be distinct.")
        for special in specials:
            require(
                isinstance(special, str) and len(special) > 1 and special not in base.stoi,
                f"The special token {special!r} collides with a character of the corpus (or is too short): "
                "encoded text could not tell the two apart. Fix: use a string of several characters, e.g. '<|end|>'.",
            )
        self.base, self.specials = base, list(specials)
        self.special_ids = {s: base.vocab_size + i for i, s in enumerate(self.specials)}
        self._split = re.compile("(" + "|".join(re.escape(s) for s in self.specials) + ")")

    @property
    def vocab_size(self) -> int:
        return self.base.vocab_size + len(self.specials)

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for piece in self._split.split(text):
            ids.extend([self.special_ids[piece]] if piece in self.special_ids else self.base.encode(piece))
        return ids

    def decode(self, ids) -> str:
        names = {i: s for s, i in self.special_ids.items()}
        ids = ids.tolist() if isinstance(ids, torch.Tensor) else ids
        return "".join(names[int(i)] if int(i) in names else self.base.itos[int(i)] for i in ids)


@torch.no_grad()
def grow_vocabulary(model: GPT, vocab_size: int, seed: int = 0) -> GPT:
    """Give `model` rows for new tokens (in place): every old token keeps its embedding, and so (the head is
    tied to the embedding) its logits; new rows start small, as GPT's init draws them."""
    old = model.transformer.wte.weight
    require(vocab_size >= old.size(0), f"The model already has {old.size(0)} tokens; it cannot shrink to {vocab_size}.")
    generator = torch.Generator().manual_seed(seed)
    new_rows = torch.randn(vocab_size - old.size(0), old.size(1), generator=generator) * 0.02
    weight = torch.nn.Parameter(torch.cat([old.detach(), new_rows.to(old)]))
    model.lm_head.weight = weight
    model.transformer.wte.weight = weight  # still one matrix: reads and writes tokens
    model.transformer.wte.num_embeddings = model.lm_head.out_features = vocab_size
    model.config.vocab_size = vocab_size
    return model


# --------------------------------------------------------------------------------------------
# Dialogue pairs and masked batches (SFT)

SPEAKER_LINE = re.compile(r"^[A-Z][A-Za-z' ]*:\n")


def speeches(text: str) -> list[str]:
    """The play's speeches in order: blocks separated by a blank line that start with a speaker line."""
    return [block.strip("\n") for block in text.split("\n\n") if SPEAKER_LINE.match(block.strip("\n"))]


def dialogue_pairs(text: str, max_prompt_chars: int, max_reply_chars: int) -> list[tuple[str, str]]:
    """(prompt, reply) in the order of the play: the prompt is the last line of a speech (the cue), the reply
    the whole speech that follows it, speaker line included. Only replies that fit `max_reply_chars`."""
    all_speeches = speeches(text)
    pairs = []
    for before, reply in zip(all_speeches, all_speeches[1:]):
        cue = before.split("\n")[-1][-max_prompt_chars:]
        if len(reply) <= max_reply_chars and cue.strip():
            pairs.append((cue, reply))
    return pairs


def chat_ids(tokenizer: ChatTokenizer, prompt: str, reply: str | None = None) -> tuple[list[int], int]:
    """Token ids of one turn (`<|user|>prompt<|assistant|>reply<|end|>`) and how many belong to the prompt.
    Without a reply: the prompt part alone, ready for the model to write the reply."""
    prompt_ids = tokenizer.encode(USER + prompt + ASSISTANT)
    reply_ids = [] if reply is None else tokenizer.encode(reply + END)
    return prompt_ids + reply_ids, len(prompt_ids)


def masked_batch(
    examples: Sequence[tuple[list[int], int]], block_size: int, pad_id: int, mask_prompt: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and targets for whole turns, right-padded: the targets are IGNORE_INDEX on padding and (with
    `mask_prompt`) wherever the next token is still the prompt's, so the loss is the response's alone
    (helpers.completions.padded_batch, after checking that the turns fit the model)."""
    require(len(examples) > 0, "No examples to batch. Fix: build pairs first (dialogue_pairs), and check its limits.")
    longest = max(len(ids) for ids, _ in examples)
    require(
        longest <= block_size + 1,
        f"A turn has {longest} tokens but the model reads {block_size} (+1 target). "
        "Fix: lower max_prompt_chars / max_reply_chars in dialogue_pairs.",
    )
    return padded_batch(examples, pad_id, mask_prompt)


def follows_format(reply: str) -> bool:
    """True for a reply that starts with a speaker line, says something, and ends with the end-of-turn token."""
    if END not in reply:
        return False
    body = reply[: reply.index(END)]
    return bool(SPEAKER_LINE.match(body)) and bool(body.split("\n", 1)[1].strip()) and USER not in body


# --------------------------------------------------------------------------------------------
# Preferences (DPO)


def question_preferences(pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """(prompt, chosen, rejected): a reply once ending in '?' (chosen) and once in '.' (rejected), from as many
    originals that end in '?' as in '.', in the play's order. The original is chosen in half the pairs and
    rejected in the other half, so a model that knows only the play has no preference for the property;
    what DPO teaches is the property itself: a reply that asks back."""
    questions = [i for i, (_, reply) in enumerate(pairs) if reply.endswith("?")]
    statements = [i for i, (_, reply) in enumerate(pairs) if reply.endswith(".")]
    n = min(len(questions), len(statements))
    kept = [pairs[i] for i in sorted(questions[:n] + statements[:n])]
    return [(prompt, reply[:-1] + "?", reply[:-1] + ".") for prompt, reply in kept]


def reply_log_probs(
    model: GPT, tokenizer: ChatTokenizer, prompts: Sequence[str], replies: Sequence[str]
) -> tuple[torch.Tensor, torch.Tensor]:
    """(summed log-probability of each reply given its prompt, number of reply tokens), one batch."""
    examples = [chat_ids(tokenizer, p, r) for p, r in zip(prompts, replies)]
    x, y = masked_batch(examples, model.config.block_size, pad_id=tokenizer.special_ids[END])
    device = next(model.parameters()).device
    x, y = x.to(device), y.to(device)
    logits, _ = model(x)
    counted = y != IGNORE_INDEX
    token_logps = torch.gather(logits.log_softmax(-1), 2, y.clamp(min=0)[..., None])[..., 0]
    return (token_logps * counted).sum(dim=1), counted.sum(dim=1)


def dpo_loss(
    policy_chosen_logps: torch.Tensor,
    policy_rejected_logps: torch.Tensor,
    reference_chosen_logps: torch.Tensor,
    reference_rejected_logps: torch.Tensor,
    beta: float = 0.1,
) -> torch.Tensor:
    """Direct Preference Optimization (Rafailov et al., 2023), averaged over the batch:
    -log sigmoid(beta * ((log pi(chosen) - log ref(chosen)) - (log pi(rejected) - log ref(rejected)))).

    The reference keeps the policy near where it started; beta sets how near. Equal to log 2 while the
    policy is the reference."""
    require(beta > 0, f"beta must be positive, not {beta!r}.")
    margin = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    return -F.logsigmoid(beta * margin).mean()
