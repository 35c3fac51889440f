"""Notebook 10 exercise: what grouped-query attention saves, the KV cache's bytes per generated token."""

from __future__ import annotations

from fractions import Fraction

from . import attempt, checker, first_wrong_count, report, slip_by_ratio

CASES = [  # n_layer, n_head, n_kv_head, n_embd, bytes_per_number
    (6, 6, 6, 384, 4),  # the workshop model: as many key/value heads as heads
    (2, 4, 2, 128, 4),  # notebook 10's model with GQA, fp32
    (32, 32, 8, 4096, 2),  # Llama 3 8B's shape, 16-bit
    (6, 6, 1, 384, 2),  # one key/value head for all (multi-query attention)
    (1, 1, 1, 1, 1),
]


def solution_kv_bytes_per_token(n_layer, n_head, n_kv_head, n_embd, bytes_per_number=2) -> int:
    """A key and a value (2) per layer and key/value head, head_size = n_embd // n_head numbers each."""
    return 2 * n_layer * n_kv_head * (n_embd // n_head) * bytes_per_number


def what_is_off(case, answer: int) -> str:
    """The usual slips, recognised by the ratio of the right size to the answer (the first that fits wins)."""
    n_layer, n_head, n_kv_head, n_embd, nbytes = case
    slips = [
        (
            Fraction(n_kv_head, n_head),
            "that is every query head's keys and values: the cache keeps only n_kv_head heads.",
        ),
        (2, "each layer keeps two tensors, keys and values: count both."),
        (n_layer, "every layer has its own cache: multiply by n_layer."),
        (nbytes, "that counts numbers, not bytes: multiply by bytes_per_number."),
        (Fraction(1, n_head), "a head is n_embd // n_head numbers wide, not n_embd."),
    ]
    return slip_by_ratio(
        solution_kv_bytes_per_token(*case),
        answer,
        slips,
        "per layer: keys and values (2) × n_kv_head heads × head_size (n_embd // n_head) numbers × bytes_per_number.",
    )


@checker
def check_kv_bytes_per_token(your_fn) -> bool:
    """Runs `your_fn(n_layer, n_head, n_kv_head, n_embd, bytes_per_number)` on a few model shapes."""
    hint = first_wrong_count(
        your_fn,
        CASES,
        solution_kv_bytes_per_token,
        lambda c: f"{c[0]} layers, {c[1]} heads, {c[2]} key/value heads, {c[3]} wide, {c[4]} bytes per number",
        lambda expected, answer: f"a token adds {expected:,} bytes, yours says {answer:,}.",
        what_is_off,
        call=attempt,
    )
    return report(hint is None, "you can size what a token costs in the cache, with grouped-query attention.", hint)
