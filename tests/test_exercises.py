"""Every exercise checker, parametrized: it accepts its solution and other correct answers the exercise's
wording allows (another dtype, a NumPy array, a list, ties in another order), rejects the plausible wrong
rules (those the notebooks used to assert, and more) with a hint that names the slip, rejects the
notebook's stub (`...`) with the "returned None" hint, never raises whatever comes back, and calls the
attendee's function only through `attempt()`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from helpers import GPT, GPTConfig
from helpers.exercises import nb00, nb01, nb02, nb03, nb04, nb05, nb06, nb07, nb08, nb09, nb10, nb11, nb12, nb13, nb14
from helpers.multimodal import image_to_patches


@dataclass
class Exercise:
    module: object
    check: Callable
    solution: Callable
    right: dict[str, Callable] = field(default_factory=dict)  # other correct answers
    wrong: dict[str, tuple[Callable, str]] = field(default_factory=dict)  # a wrong rule, and what its hint says


# ---- nb00: the most common character -------------------------------------------------------------
def most_common_char_alphabetically_last(text):  # on a tie, the other character than Counter picks
    return max(sorted(set(text), reverse=True), key=text.count)


# ---- nb01: one (x, y) window ---------------------------------------------------------------------
def window_one_slice(data, start, block_size):
    chunk = data[start : start + block_size + 1]
    return chunk[:-1], chunk[1:]


# ---- nb02: cross-entropy -------------------------------------------------------------------------
def cross_entropy_numpy(logits, targets):
    z = logits.numpy().astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -log_probs[np.arange(len(targets)), targets.numpy()].mean()  # an np.float64


# ---- nb03: attention -----------------------------------------------------------------------------
def attention_tril_minus_a_billion(q, k, v):
    T = q.size(1)
    scores = (q @ k.transpose(1, 2)) * q.size(-1) ** -0.5
    scores = scores.masked_fill(torch.tril(torch.ones(T, T)) == 0, -1e9)
    return F.softmax(scores, dim=2) @ v


def attention_einsum_loop(q, k, v):
    outputs = []
    for qb, kb, vb in zip(q, k, v):
        T, hs = qb.shape
        scores = torch.einsum("id,jd->ij", qb, kb) / math.sqrt(hs)
        scores[torch.ones(T, T).triu(1).bool()] = float("-inf")
        outputs.append(scores.softmax(-1) @ vb)
    return torch.stack(outputs)


def attention_scaled_by(scale, mask_diagonal=1, dim=-1):
    def attention(q, k, v):
        T = q.size(-2)
        scores = q @ k.transpose(-2, -1) / scale(q)
        if mask_diagonal is not None:
            scores = scores.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), mask_diagonal), float("-inf"))
        return scores.softmax(dim=dim) @ v

    return attention


def attention_weights_only(q, k, v):
    T = q.size(-2)
    scores = (q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))).masked_fill(
        torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf")
    )
    return scores.softmax(-1)


# ---- nb04: parameter count -----------------------------------------------------------------------
def count_params_closed_form(cfg):
    C, V, T, L = cfg.n_embd, cfg.vocab_size, cfg.block_size, cfg.n_layer
    if cfg.bias:
        return L * (12 * C * C + 13 * C) + C * (V + T) + 2 * C
    return L * (12 * C * C + 2 * C) + C * (V + T) + C


def count_params_always_with_biases(cfg):
    C, V, T, L = cfg.n_embd, cfg.vocab_size, cfg.block_size, cfg.n_layer
    return L * (12 * C * C + 13 * C) + C * (V + T) + 2 * C


# ---- nb05: early stopping ------------------------------------------------------------------------
def should_stop_from_best_flags(history, patience):
    last_best = max(i for i, record in enumerate(history) if record["best"])
    return len(history) - 1 - last_best >= patience


def should_stop_counting_in_a_loop(history, patience):
    best, since = float("inf"), 0
    for record in history:
        if record["val_loss"] < best:
            best, since = record["val_loss"], 0
        else:
            since += 1
    return since >= patience


def should_stop_after_consecutive_rises(history, patience):
    val = [r["val_loss"] for r in history]
    return len(val) > patience and all(val[-i] > val[-i - 1] for i in range(1, patience + 1))


# ---- nb06: min-p ---------------------------------------------------------------------------------
def min_p_in_place(probs, min_p):
    probs[probs / probs.max() < min_p] = 0
    probs /= probs.sum()
    return probs


def min_p_numpy(probs, min_p):
    p = probs.numpy().astype(np.float64)
    kept = np.where(p >= min_p * p.max(), p, 0.0)
    return kept / kept.sum()


def min_p_strictly_above(probs, min_p):
    kept = probs * (probs > min_p * probs.max())
    return kept / kept.sum()


def min_p_like_top_p(probs, min_p):
    sorted_probs, order = probs.sort(descending=True)
    sorted_probs[sorted_probs.cumsum(0) - sorted_probs >= 1 - min_p] = 0
    kept = torch.zeros_like(probs).scatter(0, order, sorted_probs)
    return kept / kept.sum()


# ---- nb07: the size of a KV cache ---------------------------------------------------------------
def kv_cache_bytes_layer_by_layer(n_layer, n_embd, context, batch_size=1, bytes_per_number=4):
    per_layer = {"keys": batch_size * context * n_embd, "values": batch_size * context * n_embd}
    return sum(sum(per_layer.values()) * bytes_per_number for _ in range(n_layer))


def kv_cache_bytes_off_by(factor):
    def kv_cache_bytes(n_layer, n_embd, context, batch_size=1, bytes_per_number=4):
        return nb07.solution_kv_cache_bytes(n_layer, n_embd, context, batch_size, bytes_per_number) * factor

    return kv_cache_bytes


# ---- nb10: the KV cache per token with grouped-query attention ----------------------------------
def kv_bytes_head_by_head(n_layer, n_head, n_kv_head, n_embd, bytes_per_number=2):
    head_size = n_embd // n_head
    return sum(2 * head_size * bytes_per_number for _ in range(n_layer) for _ in range(n_kv_head))


def kv_bytes_off_by(factor):
    def kv_bytes_per_token(n_layer, n_head, n_kv_head, n_embd, bytes_per_number=2):
        return nb10.solution_kv_bytes_per_token(n_layer, n_head, n_kv_head, n_embd, bytes_per_number) * factor

    return kv_bytes_per_token


# ---- nb09: the longest context -------------------------------------------------------------------
def max_block_size_by_search(memory_bytes, batch_size, n_head, n_layer, bytes_per_number=4):
    T = 0
    while n_layer * batch_size * n_head * (T + 1) ** 2 * bytes_per_number <= memory_bytes:
        T += 1
    return T


def numbers_per_token_squared(memory_bytes, batch_size, n_head, n_layer, bytes_per_number=4):
    return memory_bytes / (n_layer * batch_size * n_head * bytes_per_number)


# ---- nb11: top speakers --------------------------------------------------------------------------
def top_speakers_after_a_blank_line(text, n):
    lines = text.split("\n")
    names = [line[:-1] for i, line in enumerate(lines) if line.endswith(":") and (i == 0 or lines[i - 1] == "")]
    return Counter(names).most_common(n)


def top_speakers_ties_alphabetical(text, n):
    counts = Counter(re.findall(r"^([A-Z][A-Za-z ]*):$", text, flags=re.M))
    return sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))[:n]


def top_speakers_by_lines_spoken(text, n):
    counts, speaker = Counter(), None
    for line in text.split("\n"):
        if re.fullmatch(r"[A-Z][A-Za-z ]*:", line):
            speaker = line[:-1]
        elif line and speaker:
            counts[speaker] += 1
    return counts.most_common(n)


EXERCISES = {
    "nb00": Exercise(
        nb00,
        nb00.check_most_common_char,
        nb00.solution_most_common_char,
        right={
            "max with key=text.count": lambda text: max(text, key=text.count),
            "the other one on a tie": most_common_char_alphabetically_last,
            "a NumPy string": lambda text: np.str_(Counter(text).most_common(1)[0][0]),
        },
        wrong={
            "the first character (notebook)": (lambda text: text[0], r"which occurs \d time\(s\), but"),
            "the (character, count) pair": (
                lambda text: Counter(text).most_common(1)[0],
                r"return the character itself.*\(character, count\) pairs",
            ),
            "the list most_common gives": (lambda text: Counter(text).most_common(1), r"return the character itself"),
            "whitespace skipped": (
                lambda text: Counter(text.replace(" ", "").replace("\n", "")).most_common(1)[0][0],
                r"spaces and newlines are characters too",
            ),
            "the least common": (lambda text: Counter(text).most_common()[-1][0], r"occurs"),
            "the largest character": (lambda text: max(text), r"occurs"),
        },
    ),
    "nb01": Exercise(
        nb01,
        nb01.check_window,
        nb01.solution_window,
        right={
            "one slice, split": window_one_slice,
            "lists": lambda data, s, b: (data[s : s + b].tolist(), data[s + 1 : s + b + 1].tolist()),
            "NumPy arrays": lambda data, s, b: (data.numpy()[s : s + b], data.numpy()[s + 1 : s + b + 1]),
            "float tensors": lambda data, s, b: (data[s : s + b].float(), data[s + 1 : s + b + 1].double()),
            "a list [x, y]": lambda data, s, b: [data[s : s + b], data[s + 1 : s + b + 1]],
            "stacked (2, block_size)": lambda data, s, b: torch.stack([data[s : s + b], data[s + 1 : s + b + 1]]),
        },
        wrong={
            "y is x (notebook)": (lambda data, s, b: (data[s : s + b],) * 2, r"that is x itself"),
            "y shifted the wrong way": (lambda data, s, b: (data[s : s + b], data[s - 1 : s + b - 1]), r"y should be"),
            "x one too long": (lambda data, s, b: (data[s : s + b + 1], data[s + 1 : s + b + 2]), r"x should be"),
            "y two later": (lambda data, s, b: (data[s : s + b], data[s + 2 : s + b + 2]), r"y should be"),
            "one tensor": (lambda data, s, b: data[s : s + b + 1], r"return two things"),
            "three things": (lambda data, s, b: (data, data, data), r"return two things"),
            "scalars": (lambda data, s, b: (data[s], data[s + 1]), r"each be a row of"),
        },
    ),
    "nb02": Exercise(
        nb02,
        nb02.check_cross_entropy,
        nb02.solution_cross_entropy,
        right={
            "log_softmax and gather": lambda z, t: -F.log_softmax(z, -1).gather(1, t[:, None]).mean(),
            "logsumexp": lambda z, t: (torch.logsumexp(z, -1) - z[torch.arange(len(t)), t]).mean(),
            "one-hot": lambda z, t: -(F.one_hot(t, z.size(-1)) * z.log_softmax(-1)).sum(-1).mean(),
            "float64": lambda z, t: nb02.solution_cross_entropy(z.double(), t),
            "a NumPy float": cross_entropy_numpy,
            "a Python float": lambda z, t: nb02.solution_cross_entropy(z, t).item(),
            "shape (1,)": lambda z, t: nb02.solution_cross_entropy(z, t).reshape(1),
        },
        wrong={
            "the mean probability (notebook)": (lambda z, t: z.softmax(dim=-1).mean(), r"expected .*Hint: softmax"),
            "summed": (lambda z, t: -z.log_softmax(-1)[torch.arange(len(t)), t].sum(), r"you summed the losses"),
            "one loss per row": (lambda z, t: -z.log_softmax(-1)[torch.arange(len(t)), t], r"one loss per row"),
            "no softmax": (lambda z, t: -z[torch.arange(len(t)), t].mean(), r"Hint: softmax over the last dim"),
            "softmax over the rows": (
                lambda z, t: -z.softmax(0)[torch.arange(len(t)), t].log().mean(),
                r"Hint: softmax over the last dim",
            ),
            "rows instead of (row, target)": (lambda z, t: -z.softmax(-1)[t].log().mean(), r"raised IndexError"),
        },
    ),
    "nb03": Exercise(
        nb03,
        nb03.check_attention,
        nb03.solution_attention,
        right={
            "tril mask and -1e9": attention_tril_minus_a_billion,
            "einsum, batch by batch": attention_einsum_loop,
            "float64": lambda q, k, v: nb03.solution_attention(q.double(), k.double(), v.double()),
            "a NumPy array": lambda q, k, v: nb03.solution_attention(q, k, v).numpy(),
            "PyTorch's own": lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
        },
        wrong={
            "scaled by sqrt(n_embd) (notebook)": (
                attention_scaled_by(lambda q: math.sqrt(4 * q.size(-1))),
                r"position 0 is right but later ones are not: check the scale",
            ),
            "not scaled": (attention_scaled_by(lambda q: 1.0), r"check the scale"),
            "no mask": (attention_scaled_by(lambda q: math.sqrt(q.size(-1)), None), r"can it see the future"),
            "the diagonal masked too": (attention_scaled_by(lambda q: math.sqrt(q.size(-1)), 0), r"has NaN"),
            "softmax over the wrong dim": (
                attention_scaled_by(lambda q: math.sqrt(q.size(-1)), 1, dim=-2),
                r"differs|NaN|softmax dim",
            ),
            "the weights, not times v": (attention_weights_only, r"look like the attention weights"),
        },
    ),
    "nb04": Exercise(
        nb04,
        nb04.check_count_params,
        nb04.solution_count_params,
        right={
            "closed form": count_params_closed_form,
            "built and counted": lambda cfg: sum(p.numel() for p in GPT(cfg).parameters()),
            "a float": lambda cfg: float(nb04.solution_count_params(cfg)),
            "np.int64": lambda cfg: np.int64(nb04.solution_count_params(cfg)),
            "a tensor": lambda cfg: torch.tensor(nb04.solution_count_params(cfg)),
        },
        wrong={
            "12 · n_layer · n_embd² (notebook)": (lambda cfg: 12 * cfg.n_layer * cfg.n_embd**2, r"off by"),
            "lm_head counted twice": (
                lambda cfg: nb04.solution_count_params(cfg) + cfg.vocab_size * cfg.n_embd,
                r"lm_head is tied",
            ),
            "no position embedding": (
                lambda cfg: nb04.solution_count_params(cfg) - cfg.block_size * cfg.n_embd,
                r"position embedding",
            ),
            "no final LayerNorm": (
                lambda cfg: nb04.solution_count_params(cfg) - 2 * cfg.n_embd,
                r"final LayerNorm",
            ),
            "cfg.bias ignored": (count_params_always_with_biases, r"bias is False here"),
            "a formatted string": (lambda cfg: f"{nb04.solution_count_params(cfg):,}", r"one whole number"),
            "a fraction": (lambda cfg: nb04.solution_count_params(cfg) + 0.5, r"one whole number"),
        },
    ),
    "nb05": Exercise(
        nb05,
        nb05.check_should_stop,
        nb05.solution_should_stop,
        right={
            "from the best flags": should_stop_from_best_flags,
            "counting in a loop": should_stop_counting_in_a_loop,
            "np.bool_": lambda h, p: np.bool_(nb05.solution_should_stop(h, p)),
            "a bool tensor": lambda h, p: torch.tensor([r["val_loss"] for r in h]).argmin() <= len(h) - 1 - p,
        },
        wrong={
            "len(history) > patience (notebook)": (lambda h, p: len(h) > p, r"should give"),
            "patience rises in a row": (should_stop_after_consecutive_rises, r"should give"),
            "> instead of >=": (
                lambda h, p: len(h) - 1 - [r["val_loss"] for r in h].index(min(r["val_loss"] for r in h)) > p,
                r"should give",
            ),
            "the train loss": (
                lambda h, p: nb05.solution_should_stop([{**r, "val_loss": r["train_loss"]} for r in h], p),
                r"should give",
            ),
            "worse than the previous": (lambda h, p: len(h) > 1 and h[-1]["val_loss"] > h[-2]["val_loss"], r"give"),
            "the string 'True'": (lambda h, p: str(nb05.solution_should_stop(h, p)), r"return True or False"),
        },
    ),
    "nb06": Exercise(
        nb06,
        nb06.check_min_p,
        nb06.solution_min_p_filter,
        right={
            "ratio to the max": lambda p, m: torch.where(p / p.max() >= m, p, 0.0) / p[p / p.max() >= m].sum(),
            "in place": min_p_in_place,
            "NumPy": min_p_numpy,
            "float64": lambda p, m: nb06.solution_min_p_filter(p.double(), m),
            "a list": lambda p, m: nb06.solution_min_p_filter(p, m).tolist(),
        },
        wrong={
            "probs unchanged (notebook)": (lambda p, m: p, r"you kept \d+ probabilities, min-p keeps"),
            "an absolute threshold": (lambda p, m: (p * (p >= m)) / (p * (p >= m)).sum(), r"you kept \d+"),
            "strictly above": (min_p_strictly_above, r"'at least' keeps a probability equal to it"),
            "not renormalised": (lambda p, m: p * (p >= m * p.max()), r"they sum to .*divide by their sum"),
            "top-p's rule": (min_p_like_top_p, r"differs"),
            "only the kept ones": (lambda p, m: p[p >= m * p.max()] / p[p >= m * p.max()].sum(), r"the shape of probs"),
        },
    ),
    "nb07": Exercise(
        nb07,
        nb07.check_kv_cache_bytes,
        nb07.solution_kv_cache_bytes,
        right={
            "math.prod": lambda L, C, T, B=1, n=4: math.prod((2, L, C, T, B, n)),
            "layer by layer": kv_cache_bytes_layer_by_layer,
            "a whole float": lambda *case: float(nb07.solution_kv_cache_bytes(*case)),
            "np.int64": lambda *case: np.int64(nb07.solution_kv_cache_bytes(*case)),
            "a tensor": lambda *case: torch.tensor(nb07.solution_kv_cache_bytes(*case)),
        },
        wrong={
            "n_layer × n_embd": (lambda L, C, T, B=1, n=4: L * C, r"each layer keeps two tensors \(keys and values\)"),
            "keys only": (kv_cache_bytes_off_by(1 / 2), r"two tensors, keys and values: count both"),
            "layers forgotten": (lambda L, C, T, B=1, n=4: 2 * B * T * C * n, r"multiply by n_layer"),
            "batch forgotten": (lambda L, C, T, B=1, n=4: 2 * L * T * C * n, r"multiply by batch_size"),
            "numbers, not bytes": (lambda L, C, T, B=1, n=4: 2 * L * B * T * C, r"multiply by bytes_per_number"),
            "bits": (kv_cache_bytes_off_by(8), r"that counts bits"),
            "in megabytes": (kv_cache_bytes_off_by(1 / 2**20), r"one whole number"),
            "a formatted string": (lambda *case: f"{nb07.solution_kv_cache_bytes(*case):,}", r"one whole number"),
        },
    ),
    "nb10": Exercise(
        nb10,
        nb10.check_kv_bytes_per_token,
        nb10.solution_kv_bytes_per_token,
        right={
            "head by head": kv_bytes_head_by_head,
            "n_embd scaled by the share of key/value heads": lambda L, H, K, C, n=2: 2 * L * C * K // H * n,
            "a whole float": lambda *case: float(nb10.solution_kv_bytes_per_token(*case)),
            "a tensor": lambda *case: torch.tensor(nb10.solution_kv_bytes_per_token(*case)),
        },
        wrong={
            "every query head": (lambda L, H, K, C, n=2: 2 * L * C * n, r"the cache keeps only n_kv_head heads"),
            "keys only": (kv_bytes_off_by(1 / 2), r"two tensors, keys and values"),
            "layers forgotten": (lambda L, H, K, C, n=2: 2 * K * (C // H) * n, r"multiply by n_layer"),
            "numbers, not bytes": (lambda L, H, K, C, n=2: 2 * L * K * (C // H), r"multiply by bytes_per_number"),
            "n_embd per head": (lambda L, H, K, C, n=2: 2 * L * K * C * n, r"n_embd // n_head numbers wide"),
            "a formatted string": (lambda *case: f"{nb10.solution_kv_bytes_per_token(*case):,}", r"one whole number"),
        },
    ),
    "nb08": Exercise(
        nb08,
        nb08.check_bits_per_char,
        nb08.solution_bits_per_char,
        right={
            "a 0-d tensor": lambda *args: torch.tensor(nb08.solution_bits_per_char(*args)),
            "a NumPy float": lambda *args: np.float64(nb08.solution_bits_per_char(*args)),
        },
        wrong={
            "bits per token (the notebook's start)": (
                lambda loss, tokenizer, text: loss / math.log(2),
                r"with a BPE tokenizer.*bits per \*token\*",
            ),
            "nats, not bits": (
                lambda loss, tokenizer, text: loss * len(tokenizer.encode(text)) / len(text),
                r"nats per character",
            ),
        },
    ),
    "nb09": Exercise(
        nb09,
        nb09.check_max_block_size,
        nb09.solution_max_block_size,
        right={
            "int(math.sqrt(...))": lambda m, b, h, L, n=4: int(math.sqrt(m / (L * b * h * n))),
            "math.floor": lambda m, b, h, L, n=4: math.floor((m / (L * b * h * n)) ** 0.5),
            "a whole float": lambda m, b, h, L, n=4: (m // (L * b * h * n)) ** 0.5 // 1,
            "NumPy": lambda m, b, h, L, n=4: np.floor(np.sqrt(np.int64(m) / (L * b * h * n))).astype(np.int64),
            "a search": max_block_size_by_search,
        },
        wrong={
            "always 256 (notebook)": (lambda m, b, h, L, n=4: 256, r"the answer is"),
            "rounded to the nearest": (lambda m, b, h, L, n=4: round(math.sqrt(m / (L * b * h * n))), r"round down"),
            "not rounded": (lambda m, b, h, L, n=4: math.sqrt(m / (L * b * h * n)), r"return a whole number"),
            "rounded up": (lambda m, b, h, L, n=4: math.ceil(math.sqrt(m / (L * b * h * n))), r"the answer is"),
            "layers forgotten": (lambda m, b, h, L, n=4: math.isqrt(m // (b * h * n)), r"solve layers"),
            "bytes forgotten": (lambda m, b, h, L, n=4: math.isqrt(m // (L * b * h)), r"solve layers"),
            "T, not T²": (lambda m, b, h, L, n=4: int(numbers_per_token_squared(m, b, h, L, n)), r"the answer is"),
            "T² < memory": (lambda m, b, h, L, n=4: math.isqrt(m // (L * b * h * n) - 1), r"the answer is"),
        },
    ),
    "nb11": Exercise(
        nb11,
        nb11.check_top_speakers,
        nb11.solution_top_speakers,
        right={
            "a speech follows a blank line": top_speakers_after_a_blank_line,
            "ties alphabetical": top_speakers_ties_alphabetical,
            "lists, not tuples": lambda t, n: [list(pair) for pair in nb11.solution_top_speakers(t, n)],
            "a tuple, NumPy counts": lambda t, n: tuple((s, np.int64(c)) for s, c in nb11.solution_top_speakers(t, n)),
        },
        wrong={
            "ROMEO once, n times (notebook)": (
                lambda t, n: [("ROMEO", 1)] * n,
                r"ROMEO starts 3 speech\(es\), you counted 1",
            ),
            "every line ending in a colon": (
                lambda t, n: Counter(line[:-1] for line in t.split("\n") if line.endswith(":")).most_common(n),
                r"'O Romeo, Romeo' never starts a speech",
            ),
            "names without spaces": (
                lambda t, n: Counter(re.findall(r"^([A-Z]+):$", t, flags=re.M)).most_common(n),
                r"you returned 2 speakers; there should be 3",
            ),
            "lines spoken": (top_speakers_by_lines_spoken, r"JULIET starts 1 speech\(es\), you counted 2"),
            "the colon kept": (
                lambda t, n: [(s + ":", c) for s, c in nb11.solution_top_speakers(t, n)],
                r"without its colon",
            ),
            "a dict": (lambda t, n: dict(nb11.solution_top_speakers(t, n)), r"not a dict"),
            "least first": (lambda t, n: nb11.solution_top_speakers(t, n)[::-1], r"most first"),
            "the empty list (notebook stub)": (lambda t, n: [], r"you returned 0 speakers"),
        },
    ),
    "nb12": Exercise(
        nb12,
        nb12.check_preference_accuracy,
        nb12.solution_preference_accuracy,
        right={
            "plain Python": lambda c, cl, r, rl: sum(a / b > x / y for a, b, x, y in zip(c, cl, r, rl)) / len(c),
            "a 0-d tensor": lambda *args: torch.tensor(nb12.solution_preference_accuracy(*args)),
            "a NumPy float": lambda *args: np.float64(nb12.solution_preference_accuracy(*args)),
        },
        wrong={
            "sums, not per token": (
                lambda c, cl, r, rl: sum(a > x for a, x in zip(c, r)) / len(c),
                r"divide each summed log-probability by its reply's length",
            ),
            "a tie counted as a win": (
                lambda c, cl, r, rl: sum(a / b >= x / y for a, b, x, y in zip(c, cl, r, rl)) / len(c),
                r"count a tie as not preferred",
            ),
            "a count, not a share": (
                lambda c, cl, r, rl: float(sum(a / b > x / y for a, b, x, y in zip(c, cl, r, rl))),
                r"the answer is",
            ),
        },
    ),
    "nb13": Exercise(
        nb13,
        nb13.check_times_digit_scratchpad,
        nb13.solution_times_digit_scratchpad,
        wrong={
            "the answer without its steps": (lambda a, d: f"{a * d:04d}.", r"Hint"),
            "no carries": (
                lambda a, d: (
                    ",".join(f"{a // 10**c % 10}*{d}+0={a // 10**c % 10 * d:02d}" for c in range(3)) + f"|{a * d:04d}."
                ),
                r"Hint",
            ),
        },
    ),
    "nb14": Exercise(
        nb14,
        nb14.check_colour_patches,
        nb14.solution_colour_patches,
        wrong={
            "grey, not colour": (lambda images, patch: image_to_patches(images.mean(1), patch), r"shape"),
            "channels interleaved pixel by pixel": (
                lambda images, patch: (
                    images.unfold(2, patch, patch)
                    .unfold(3, patch, patch)
                    .permute(0, 2, 3, 4, 5, 1)
                    .reshape(images.size(0), -1, 3 * patch * patch)
                ),
                r"numbers are not",
            ),
        },
    ),
}


def checked(exercise: Exercise, fn, capsys) -> tuple[bool, str]:
    """(the checker's verdict, the line it printed)."""
    verdict = exercise.check(fn)
    out = capsys.readouterr().out
    assert isinstance(verdict, bool) and out.count("\n") == 1, out  # one line: ✅ or a hint
    assert out.startswith("✅ " if verdict else "❌ Not yet: "), out
    return verdict, out


@pytest.mark.parametrize("name", EXERCISES)
def test_accepts_its_solution(name, capsys):
    assert checked(EXERCISES[name], EXERCISES[name].solution, capsys)[0]


@pytest.mark.parametrize(
    "name, answer", [(name, answer) for name, ex in EXERCISES.items() for answer in ex.right], ids=str
)
def test_accepts_other_correct_answers(name, answer, capsys):
    verdict, out = checked(EXERCISES[name], EXERCISES[name].right[answer], capsys)
    assert verdict, out


@pytest.mark.parametrize(
    "name, answer", [(name, answer) for name, ex in EXERCISES.items() for answer in ex.wrong], ids=str
)
def test_rejects_plausible_wrong_rules_with_a_hint_naming_the_slip(name, answer, capsys):
    fn, hint = EXERCISES[name].wrong[answer]
    verdict, out = checked(EXERCISES[name], fn, capsys)
    assert not verdict and re.search(hint, out), out
    assert "could not be checked" not in out  # a foreseen slip gets its own hint, not the safety net's


def stub(*args): ...  # the notebook's exercise cell, untouched


@pytest.mark.parametrize("name", EXERCISES)
def test_rejects_the_notebook_stub_saying_it_returned_none(name, capsys):
    verdict, out = checked(EXERCISES[name], stub, capsys)
    assert not verdict and "your function returned None: write the body and `return " in out


def raises(*args):
    raise KeyError("val_loss")


ODD_ANSWERS = {
    "a str": "abc",
    "an empty str": "",
    "zero": 0,
    "a negative int": -1,
    "a float": 1.5,
    "nan": float("nan"),
    "inf": float("inf"),
    "True": True,
    "an empty list": [],
    "a nested list": [[]],
    "a ragged list": [[1, 2], [3]],
    "a dict": {"a": 1},
    "a tuple of 3": (1, 2, 3),
    "an object": object(),
    "an empty tensor": torch.zeros(0),
    "a matrix": torch.zeros(3, 3),
    "a nan tensor": torch.tensor(float("nan")),
    "a NumPy matrix": np.zeros((2, 2)),
    "a NumPy str array": np.array(["a"]),
    "a generator": (i for i in range(3)),
    "a list of tensors": [torch.zeros(2), torch.zeros(3)],
    "a pair of strings": ("a", "b"),
    "a list of pairs of lists": [([1], [2])],
}


@pytest.mark.parametrize("answer", ODD_ANSWERS)
@pytest.mark.parametrize("name", EXERCISES)
def test_never_raises_whatever_comes_back(name, answer, capsys):
    verdict, out = checked(EXERCISES[name], lambda *args: ODD_ANSWERS[answer], capsys)
    assert not verdict
    assert "could not be checked" not in out, out  # each kind of answer is foreseen by the checker itself


@pytest.mark.parametrize("name", EXERCISES)
@pytest.mark.parametrize(
    "fn",
    [raises, lambda *args: args, lambda *args: args[0], "not a function", None],
    ids=["raises", "echoes its arguments", "echoes the first", "a str", "None"],
)
def test_never_raises_on_odd_functions(name, fn, capsys):
    verdict, out = checked(EXERCISES[name], fn, capsys)
    assert not verdict and "could not be checked" not in out, out


@pytest.mark.parametrize("name", EXERCISES)
def test_a_crash_in_the_attendees_function_is_a_hint(name, capsys):
    verdict, out = checked(EXERCISES[name], raises, capsys)
    assert not verdict and "your function raised KeyError: 'val_loss'" in out


@pytest.mark.parametrize("name", EXERCISES)
def test_the_attendees_function_is_called_only_through_attempt(name, monkeypatch, capsys):
    exercise = EXERCISES[name]
    inside, calls, outside = [], [], []
    real_attempt = exercise.module.attempt

    def watched_attempt(your_fn, *args, **kwargs):
        inside.append(True)
        try:
            return real_attempt(your_fn, *args, **kwargs)
        finally:
            inside.pop()

    def attendee(*args):
        (calls if inside else outside).append(args)
        return exercise.solution(*args)

    monkeypatch.setattr(exercise.module, "attempt", watched_attempt)
    assert checked(exercise, attendee, capsys)[0]
    assert calls and not outside


def test_every_checker_module_is_covered():
    present = sorted(p.stem for p in Path(nb00.__file__).parent.glob("nb[0-9][0-9].py"))
    assert present == sorted(EXERCISES)


def test_the_checkers_leave_the_notebooks_random_state_alone(capsys):
    torch.manual_seed(0)
    before = torch.get_rng_state()
    for exercise in EXERCISES.values():
        exercise.check(exercise.solution)
    assert torch.equal(torch.get_rng_state(), before)


@pytest.mark.parametrize(
    "module, case, slip, named",
    [
        (nb10, (6, 6, 1, 384, 2), lambda right: 6 * right, "keeps only n_kv_head heads"),  # a ratio of 1/6
        (nb10, (32, 32, 8, 4096, 2), lambda right: 4 * right, "keeps only n_kv_head heads"),
        (nb07, (32, 4096, 4096, 8, 2), lambda right: right // 2, "count both"),  # 2**34 bytes
    ],
    ids=["nb10 multi-query", "nb10 Llama 3 8B", "nb07 7B batch"],
)
def test_a_size_off_by_a_factor_names_it_exactly_and_a_near_miss_does_not(module, case, slip, named):
    """The KV-cache checkers name a slip by the exact ratio of the right size to the answer (1/6 included);
    a size one byte away from such a slip gets the general hint, not the slip's."""
    right = module.solution_kv_bytes_per_token(*case) if module is nb10 else module.solution_kv_cache_bytes(*case)
    general = module.what_is_off(case, 7)
    assert named in module.what_is_off(case, slip(right))
    assert module.what_is_off(case, slip(right) + 1) == general and named not in general


# ---- what the notebooks' "the checker itself works" cells asserted, with the corpus ------------


def test_the_parameter_count_solution_gives_the_reference_model():
    reference = GPTConfig()  # 6 layers, 6 heads, 384 wide, context 256
    with torch.device("meta"):
        built = GPT(reference).num_params()
    assert nb04.solution_count_params(reference) == built == 10_770_816


def test_top_speakers_on_the_corpus(corpus, capsys):
    text, seen = corpus.text, []

    def solution_watched(t, n):
        seen.append((t is text, n))
        return nb11.solution_top_speakers(t, n)

    assert nb11.check_top_speakers(solution_watched, text) and (True, 5) in seen
    assert nb11.check_top_speakers(top_speakers_after_a_blank_line, text)  # another right reading agrees
    assert nb11.check_top_speakers(top_speakers_ties_alphabetical, text)
    assert not nb11.check_top_speakers(lambda t, n: [("ROMEO", 1)] * n, text)


def test_most_common_char_of_the_corpus_is_the_space(corpus):
    assert nb00.solution_most_common_char(corpus.text) == " "
