"""The KV cache: the keys and values of the positions a GPT has already read, kept between forward passes.

Generating one token at a time, the keys and values of every earlier position are the same at each step
(attention is causal: a position never sees what comes after it). The cache stores them, so each step
computes the new position only and attends over the stored ones.

What it knows: per layer, a store for keys and one for values, (B, n_kv_head, capacity, head_size) each, made
on first use on the device and in the dtype of the first keys; how many positions are filled (`length`), and
how many of the oldest it has dropped to make room (`dropped`, only for models with rotary positions).
What it does not: positions, context windows, sampling. The model numbers new positions from `dropped + length`
(model.py); which tokens sit in the cache, and when to empty it, is generate()'s windowing policy (sampling.py).
"""

from __future__ import annotations

import torch

from .errors import require


class LayerKVCache:
    """One attention layer's keys and values: written once per position, read at every later step."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.keys: torch.Tensor | None = None  # (B, n_head, capacity, head_size), made on first append
        self.values: torch.Tensor | None = None
        self.length = 0  # positions filled

    def append(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store `k`, `v` (B, n_head, T, head_size) after what is there; return every key and value so far."""
        start, end = self.length, self.length + k.size(2)
        assert end <= self.capacity, "GPT.forward checks the room left before any layer appends"
        if self.keys is None:  # a preallocated store: appending copies T positions, not the whole cache
            shape = (k.size(0), k.size(1), self.capacity, k.size(3))
            self.keys, self.values = k.new_empty(shape), v.new_empty(shape)
        self.keys[:, :, start:end] = k
        self.values[:, :, start:end] = v
        self.length = end
        return self.keys[:, :, :end], self.values[:, :, :end]

    def drop_oldest(self, n: int) -> None:
        """Forget the `n` oldest positions, moving the others to the front of the store."""
        if n and self.keys is not None:
            kept = slice(n, self.length)
            self.keys[:, :, : self.length - n] = self.keys[:, :, kept].clone()
            self.values[:, :, : self.length - n] = self.values[:, :, kept].clone()
        self.length -= n


class KVCache:
    """A GPT's cache, one `LayerKVCache` per layer, for a batch of `batch_size` sequences.

    Make one with `model.new_kv_cache(batch_size)` and pass it to `model(idx, kv_cache=cache)`: the model
    appends the keys and values of `idx` and numbers its positions after those already cached.
    """

    def __init__(self, n_layer: int, batch_size: int, capacity: int):
        require(
            isinstance(batch_size, int) and batch_size > 0,
            f"batch_size={batch_size!r} is invalid for a KV cache. Fix: pass the number of sequences you will "
            "feed the model at once (a whole number ≥ 1; idx.size(0)).",
        )
        self.batch_size, self.capacity = batch_size, capacity
        self.layers = [LayerKVCache(capacity) for _ in range(n_layer)]
        self.dropped = 0  # positions forgotten by drop_oldest: the next one is numbered dropped + length

    @property
    def length(self) -> int:
        """How many positions are cached (the same in every layer)."""
        return self.layers[0].length

    def reset(self) -> None:
        """Forget every position; the stores are kept and overwritten."""
        for layer in self.layers:
            layer.length = 0
        self.dropped = 0

    def drop_oldest(self, n: int) -> None:
        """Slide the window: forget the `n` oldest positions, keep numbering new ones after all seen so far.

        Only a model with rotary positions can use the result: its cached keys carry their position as a
        rotation, and attention depends on the distance between positions only, so they stay right where they
        are. (Learned position embeddings would need every kept key recomputed at its new position.)
        """
        require(
            isinstance(n, int) and 0 <= n <= self.length,
            f"drop_oldest({n!r}) on a cache holding {self.length} positions. Fix: drop between 0 and {self.length}.",
        )
        for layer in self.layers:
            layer.drop_oldest(n)
        self.dropped += n
