"""Notebook 07 exercise: how many bytes a KV cache takes, before allocating one."""

from __future__ import annotations

from fractions import Fraction

from . import attempt, checker, first_wrong_count, report, slip_by_ratio

CASES = [  # n_layer, n_embd, context, batch_size, bytes_per_number
    (6, 384, 256, 1, 4),  # the workshop model, fp32
    (2, 128, 64, 32, 4),  # the laptop model, a batch of 32
    (48, 1600, 1024, 1, 2),  # GPT-2 XL's shape, 16-bit
    (32, 4096, 4096, 8, 2),  # a 7B model's shape, 16-bit, 8 sequences at once
    (1, 1, 1, 1, 1),
]


def solution_kv_cache_bytes(n_layer, n_embd, context, batch_size=1, bytes_per_number=4) -> int:
    """Keys and values (2) for every layer, sequence, position and channel, `bytes_per_number` each."""
    return 2 * n_layer * batch_size * context * n_embd * bytes_per_number


def what_is_off(case, answer: int) -> str:
    """The usual slips, recognised by the ratio of the right size to the answer (the first that fits wins)."""
    n_layer, n_embd, context, batch_size, nbytes = case
    slips = [
        (2, "each layer keeps two tensors, keys and values: count both."),
        (n_layer, "every layer has its own cache: multiply by n_layer."),
        (batch_size, "every sequence in the batch has its own cache: multiply by batch_size."),
        (nbytes, "that counts numbers, not bytes: multiply by bytes_per_number."),
        (Fraction(1, 8), "that counts bits: a byte is 8 bits, and bytes_per_number is already in bytes."),
    ]
    return slip_by_ratio(
        solution_kv_cache_bytes(*case),
        answer,
        slips,
        "each layer keeps two tensors (keys and values), each batch_size × context × n_embd numbers "
        "(the heads together are n_embd wide), bytes_per_number bytes each.",
    )


@checker
def check_kv_cache_bytes(your_fn) -> bool:
    """Runs `your_fn(n_layer, n_embd, context, batch_size, bytes_per_number)` on a few model shapes."""
    hint = first_wrong_count(
        your_fn,
        CASES,
        solution_kv_cache_bytes,
        lambda c: f"{c[0]} layers, {c[1]} wide, context {c[2]}, batch {c[3]}, {c[4]} bytes per number",
        lambda expected, answer: f"the cache takes {expected:,} bytes, yours says {answer:,}.",
        what_is_off,
        call=attempt,
    )
    return report(hint is None, "you can size a KV cache before allocating it.", hint)
