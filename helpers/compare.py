"""Comparing tokenizers fairly: bits per character on the val text, and the same training compute for each.

A loss per token cannot compare tokenizers: a BPE token carries several characters, so its loss is higher
even when the model predicts the text better. Bits per character can: the total loss over the val text, in
bits, divided by the number of characters in it. "Same compute" here means the same training FLOPs
(nanoGPT's count: 6 × parameters + attention, per token trained on), so a model with a larger vocabulary,
whose embedding and output layer cost more per token, trains for proportionally fewer steps.

Knows models, corpora and the Trainer; does not know how tokenizers work inside (only their interface).
"""

from __future__ import annotations

import math
import time

import torch
from torch.nn import functional as F

from .data import Corpus, Tokenizer
from .device import autocast, pick_device, precision_for
from .model import GPT
from .presets import Preset
from .sampling import sample_text
from .trainer import TrainConfig, Trainer


def flops_per_token(model: GPT) -> float:
    """Training FLOPs per token: 6 × parameters (forward + backward) + attention's scores and sums (nanoGPT).

    The embedding matrix counts: it is also the output layer (tied), 2 × n_embd × vocab_size multiply-adds
    per token forward, so a larger vocabulary costs compute, not only memory.
    """
    c = model.config
    return 6 * model.num_params() + 12 * c.n_layer * c.n_embd * c.block_size


@torch.no_grad()
def bits_per_character(model: GPT, corpus: Corpus, windows_per_batch: int = 64, precision: str | None = None) -> dict:
    """Bits per character of `model` on the whole val split, and what it is made of.

    The val ids are cut into consecutive windows of block_size tokens (the last one shorter); every token
    but the very first is scored once, given the tokens before it in its window. Bits per character =
    total loss in nats / (ln 2 × the characters those scored tokens spell).
    """
    device = next(model.parameters()).device
    precision = precision or precision_for(device.type)
    data, block = corpus.val.to(device), model.config.block_size
    scored = len(data) - 1
    windows = -(-scored // block)
    x = data.new_zeros(windows * block)
    y = data.new_full((windows * block,), -1)  # -1: padding of the last window, not scored
    x[:scored], y[:scored] = data[:-1], data[1:]
    x, y = x.view(windows, block), y.view(windows, block)
    was_training = model.training
    model.eval()
    nats = torch.zeros((), dtype=torch.float64, device=device)
    for i in range(0, windows, windows_per_batch):
        with autocast(device.type, precision):
            logits, _ = model(x[i : i + windows_per_batch])
        targets = y[i : i + windows_per_batch].reshape(-1)
        nats += F.cross_entropy(logits.float().view(-1, logits.size(-1)), targets, ignore_index=-1, reduction="sum")
    model.train(was_training)
    chars = len(corpus.tokenizer.decode(data[1:].tolist()))
    return {
        "bits_per_char": nats.item() / (math.log(2) * chars),
        "loss_per_token": nats.item() / scored,
        "tokens": scored,
        "chars": chars,
        "chars_per_token": chars / scored,
    }


def chars_per_token(tokenizer: Tokenizer, text: str) -> float:
    """Compression: how many characters of `text` one token carries on average."""
    return len(text) / max(1, len(tokenizer.encode(text)))


def sample_chars(model: GPT, tokenizer: Tokenizer, prompt: str, n_chars: int, **settings) -> str:
    """About `n_chars` characters after `prompt`, whatever the tokenizer (tokens are generated until there
    are enough characters, then the text is cut)."""
    tokens = n_chars
    while True:
        text = sample_text(model, tokenizer, prompt, tokens, **settings)
        if len(text) >= len(prompt) + n_chars or tokens >= 4 * n_chars:
            return text[: len(prompt) + n_chars]
        tokens *= 2


def train_same_flops(
    text: str,
    tokenizers: dict[str, Tokenizer],
    preset: Preset,
    steps: int,
    reference: str | None = None,
    device: str | None = None,
    progress: bool = False,
) -> list[dict]:
    """Train the same model shape once per tokenizer, each for the FLOPs `steps` steps cost the `reference`
    (default: the first tokenizer), and measure each on the val text. Returns one row per tokenizer,
    with the trained model under "model"."""
    device = pick_device(device)
    reference = reference or next(iter(tokenizers))
    seed = TrainConfig().seed
    budget = steps * flops_per_token(preset.build_model(tokenizers[reference].vocab_size, seed))
    rows = []
    for name, tokenizer in tokenizers.items():
        corpus = Corpus.from_tokenizer(text, tokenizer, device)
        model = preset.build_model(tokenizer.vocab_size, seed)
        n_steps = max(1, round(budget / flops_per_token(model)))
        settings = {**preset.train, "max_iters": n_steps, "eval_interval": n_steps, "eval_iters": 1}
        settings.update(val_full_split=False, warmup_iters=min(settings.get("warmup_iters", 100), n_steps))
        # compile off: for runs this short on a GPU, compiling each model would take longer than it saves
        cfg = TrainConfig(**settings, seed=seed, device=device, progress=progress, compile=False)
        trainer = Trainer(model, corpus, cfg)
        start = time.perf_counter()
        trainer.fit()
        seconds = time.perf_counter() - start
        tokens_trained = n_steps * trainer.cfg.batch_size * model.config.block_size
        rows.append(
            {
                "name": name,
                "vocab_size": tokenizer.vocab_size,
                "params": model.num_params(),
                "steps": n_steps,
                "train_flops": flops_per_token(model) * tokens_trained,
                "train_tokens": tokens_trained,
                "seconds": seconds,
                **bits_per_character(trainer.model, trainer.corpus, precision=trainer.precision),
                "model": trainer.model,
                "tokenizer": tokenizer,
            }
        )
    return rows
