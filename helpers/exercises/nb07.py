"""Notebook 07 exercise: how many bytes a KV cache takes, before allocating one."""

from __future__ import annotations

from . import attempt, report

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


def check_kv_cache_bytes(your_fn) -> bool:
    """Runs `your_fn(n_layer, n_embd, context, batch_size, bytes_per_number)` on a few model shapes."""
    for case in CASES:
        expected = solution_kv_cache_bytes(*case)
        answer, problem = attempt(your_fn, *case, where=f" for {case}", returns="the number of bytes")
        if problem:
            return report(False, "", problem)
        if answer != expected:
            n_layer, n_embd, context, batch_size, nbytes = case
            return report(
                False,
                "",
                f"for {n_layer} layers, {n_embd} wide, context {context}, batch {batch_size}, {nbytes} bytes per "
                f"number the cache takes {expected:,} bytes, yours says {answer!r}. Hint: each layer keeps two "
                "tensors (keys and values), each batch × context × n_embd numbers (the heads together are "
                "n_embd wide).",
            )
    return report(True, "you can size a KV cache before allocating it.", "")
