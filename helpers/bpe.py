"""Byte-level byte-pair encoding (BPE): the subword tokens of GPT-2 and its successors, learned from our corpus.

What it knows: text is UTF-8 bytes, so the 256 byte values are the first 256 tokens and any text at all can
be encoded; a regex first cuts text into chunks (words with their leading space, numbers, punctuation,
whitespace) and merges never cross a chunk; training merges the most frequent adjacent pair into a new token,
again and again; encoding merges, inside each chunk, the adjacent pair whose joined bytes are the
earliest-learned token until none is left; decoding joins the bytes and reads them as UTF-8.
It saves itself as a small dict (the checkpoint stores it), and uses tiktoken, where installed, as a fast
path that gives the same ids (notebook 08 and the tests prove it on the corpus).
What it does not know: special tokens such as <|endoftext|>, models, or where files live (callers say).

The rule that makes tiktoken agree: tiktoken keys each token by its bytes and merges by those bytes, so
two different pairs that join to the same bytes cannot both be tokens there. Our trainer keeps every chunk
exactly as `encode` would cut it with the tokens learned so far; a pair whose joined bytes were already a
token would have been merged by `encode` already, so every merge makes new bytes, and the learned merges
are exactly tiktoken's ranks.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import os
import re
from collections import Counter
from pathlib import Path

from .errors import WorkshopError, require

# GPT-2's pre-split pattern with ASCII classes in place of Unicode ones (\p{L} → A-Za-z, \p{N} → 0-9,
# \s → the six ASCII whitespace characters), so that Python's `re` and tiktoken's Rust engine cut every
# text, in any script, identically. Non-ASCII characters (é, ☺) go with punctuation; they are bytes either way.
_SPACE = r"\t\n\x0b\x0c\r "
PATTERN = (
    r"'(?:[sdmt]|ll|ve|re)"  # English contractions: 's 't 'd 'm 'll 've 're
    r"| ?[A-Za-z]+"  # a word, with the space before it
    r"| ?[0-9]+"  # a number
    rf"| ?[^{_SPACE}A-Za-z0-9]+"  # punctuation and everything non-ASCII, with the space before it
    rf"|[{_SPACE}]+(?![^{_SPACE}])"  # a run of whitespace, leaving its last space to the next word
    rf"|[{_SPACE}]+"  # whitespace at the very end
)
BYTES = 256  # the base vocabulary: one token per byte value
MIN_PAIR_COUNT = 2  # twice: a pair seen once is the text memorised, not a piece of it worth a token


def merge_until_done(parts: list[bytes], ranks: dict[bytes, int]) -> list[bytes]:
    """Merge the adjacent pair whose joined bytes have the lowest rank, leftmost first, until none is a token.

    This is tiktoken's rule (`byte_pair_merge`), written plainly: O(len²) per chunk, and chunks are short.
    """
    while len(parts) > 1:
        best_rank, best_i = None, -1
        for i in range(len(parts) - 1):
            rank = ranks.get(parts[i] + parts[i + 1])
            if rank is not None and (best_rank is None or rank < best_rank):
                best_rank, best_i = rank, i
        if best_rank is None:
            break
        parts[best_i : best_i + 2] = [parts[best_i] + parts[best_i + 1]]
    return parts


def encode_chunk(chunk: bytes, ranks: dict[bytes, int]) -> list[bytes]:
    """One chunk as token bytes: the chunk itself if it is a token (tiktoken's shortcut), else merged bytes."""
    if chunk in ranks:
        return [chunk]
    return merge_until_done([bytes([b]) for b in chunk], ranks)


# Text every pre-split pattern must cut into pieces that join back to it: letters, digits, contractions,
# punctuation, non-ASCII, and every kind of whitespace, at the start, inside and at the end.
PATTERN_PROBE = " \tROMEO:\nI'll go, 3 times!  Roméo ☺ 日本語\r\n\x0b\x0cend  \n"


def compile_pattern(pattern: str) -> re.Pattern:
    """The pre-split regex, refused if it would lose or repeat text: encoding keeps only what it matches."""
    fix = "Fix: use helpers.bpe.PATTERN, or a regex without capturing groups whose matches cover every character."
    try:
        regex = re.compile(pattern)
    except (re.error, TypeError) as err:
        raise WorkshopError(f"The BPE pre-split pattern {pattern!r} is not a valid regex ({err}). {fix}") from None
    require(
        regex.groups == 0,
        f"The BPE pre-split pattern {pattern!r} has capturing groups: findall would return the groups, not the "
        f"chunks. {fix}",
    )
    pieces = regex.findall(PATTERN_PROBE)
    require(
        "".join(pieces) == PATTERN_PROBE and all(pieces),
        f"The BPE pre-split pattern {pattern!r} does not cut text into pieces that join back to it (on "
        f"{PATTERN_PROBE!r} it gives {repr(pieces)[:120]}): encoding would lose text. {fix}",
    )
    return regex


def valid_utf8_text(text: str) -> str:
    """`text`, with lone surrogates (which UTF-8 cannot hold) replaced by U+FFFD, as tiktoken does."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


class BPETokenizer:
    """Byte-level BPE. Token i < 256 is byte i; token 256 + k is merge k: `merges[k] = (left id, right id)`.

    Same interface as CharTokenizer (vocab_size, encode, decode, to_dict), but it never refuses text:
    what it has not seen falls back to bytes. For exporting (e.g. to Hugging Face), `merges`, `vocab`
    (id → bytes), `pattern` and `mergeable_ranks()` (bytes → id, tiktoken's form) say everything.
    """

    kind = "bpe"

    def __init__(self, merges, pattern: str = PATTERN):
        self.pattern = pattern
        self._regex = compile_pattern(pattern)
        self.merges: list[tuple[int, int]] = []
        self.vocab: list[bytes] = [bytes([b]) for b in range(BYTES)]
        self._ranks = {token: i for i, token in enumerate(self.vocab)}
        for k, pair in enumerate(merges):
            require(
                isinstance(pair, (list, tuple))
                and len(pair) == 2
                and all(type(i) is int and 0 <= i < len(self.vocab) for i in pair),  # not True, not 97.0
                f"BPE merge {k} is {pair!r}: it must be two ids of tokens that exist before it (0..{len(self.vocab) - 1}).",
            )
            token = self.vocab[pair[0]] + self.vocab[pair[1]]
            require(
                token not in self._ranks,
                f"BPE merge {k} {tuple(pair)} makes {token!r}, which is already token {self._ranks.get(token)}: "
                "two merges for the same bytes cannot both be tokens.",
            )
            self.merges.append((pair[0], pair[1]))
            self._ranks[token] = len(self.vocab)
            self.vocab.append(token)
        self._chunk_cache: dict[str, list[int]] = {}
        self._library = None  # tiktoken's Encoding, built on first use (False: not installed)

    # ---- training ------------------------------------------------------------------------------
    @classmethod
    def train(cls, text: str, vocab_size: int, pattern: str = PATTERN) -> BPETokenizer:
        """Learn `vocab_size - 256` merges from `text`: the most frequent adjacent pair, again and again.

        Ties go to the pair whose bytes sort first, so the same text always gives the same merges. Counts
        are kept per distinct chunk and updated only where a merge changed something (seconds, not minutes,
        for the whole corpus).
        """
        require(
            isinstance(vocab_size, int) and vocab_size >= BYTES,
            f"vocab_size={vocab_size!r} is too small for byte-level BPE: the 256 byte values are the first 256 "
            "tokens. Fix: use 256 or more (256 means bytes only, no merges; 512 or 1024 are good choices).",
        )
        tokenizer = cls([], pattern)
        counts = Counter(chunk.encode("utf-8") for chunk in tokenizer._regex.findall(valid_utf8_text(text)))
        chunks, weights = list(counts), list(counts.values())
        index_of = {chunk: j for j, chunk in enumerate(chunks)}
        parts = [encode_chunk(chunk, tokenizer._ranks) for chunk in chunks]
        pair_counts: Counter[tuple[bytes, bytes]] = Counter()
        where: dict[tuple[bytes, bytes], set[int]] = {}
        for j, p in enumerate(parts):
            for pair in zip(p, p[1:]):
                pair_counts[pair] += weights[j]
                where.setdefault(pair, set()).add(j)
        heap = [(-n, a, b) for (a, b), n in pair_counts.items()]
        heapq.heapify(heap)

        while len(tokenizer.vocab) < vocab_size:
            while heap and pair_counts.get((heap[0][1], heap[0][2])) != -heap[0][0]:
                heapq.heappop(heap)  # a stale entry: that pair's count changed since it was pushed
            if not heap or -heap[0][0] < MIN_PAIR_COUNT:
                learned = len(tokenizer.merges)
                raise WorkshopError(
                    f"The text is too small for vocab_size={vocab_size}: after {learned} merges no adjacent pair "
                    f"occurs twice any more ({len(text):,} characters). Fix: use vocab_size ≤ "
                    f"{BYTES + learned}, or train on more text."
                )
            _, a, b = heapq.heappop(heap)
            tokenizer._add_merge(a, b)
            changed = where.pop((a, b), set())
            if a + b in index_of:  # a chunk that is now a token as a whole
                changed.add(index_of[a + b])
            for j in changed:
                old = parts[j]
                new = [chunks[j]] if chunks[j] in tokenizer._ranks else merge_until_done(list(old), tokenizer._ranks)
                if new == old:
                    continue
                parts[j] = new
                delta: dict[tuple[bytes, bytes], int] = {}
                for pair in zip(old, old[1:]):
                    delta[pair] = delta.get(pair, 0) - 1
                for pair in zip(new, new[1:]):
                    delta[pair] = delta.get(pair, 0) + 1
                for pair, d in delta.items():
                    if d:
                        pair_counts[pair] += d * weights[j]
                        heapq.heappush(heap, (-pair_counts[pair], *pair))
                        if d > 0:
                            where.setdefault(pair, set()).add(j)
            if pair_counts.pop((a, b), 0):  # every chunk that held the pair was re-cut above
                raise AssertionError(f"BPE training: the merged pair {(a, b)!r} is still counted")
        return tokenizer

    def _add_merge(self, a: bytes, b: bytes) -> None:
        token = a + b
        if token in self._ranks:  # impossible while training keeps chunks as encode cuts them
            raise AssertionError(f"BPE training made {token!r} twice: trainer and encoder disagree")
        self.merges.append((self._ranks[a], self._ranks[b]))
        self._ranks[token] = len(self.vocab)
        self.vocab.append(token)

    # ---- the tokenizer interface ---------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> list[int]:
        """Text → token ids: tiktoken's fast path where it is installed, else `encode_python` (the same ids)."""
        library = self.library_encoding()
        if library is not None:
            return library.encode_ordinary(text)
        return self.encode_python(text)

    def encode_python(self, text: str) -> list[int]:
        """The hand-written encoder: split into chunks, merge each one (each distinct chunk once, then cached)."""
        ids: list[int] = []
        cache = self._chunk_cache
        for chunk in self._regex.findall(valid_utf8_text(text)):
            chunk_ids = cache.get(chunk)
            if chunk_ids is None:
                chunk_ids = [self._ranks[t] for t in encode_chunk(chunk.encode("utf-8"), self._ranks)]
                if len(cache) < 1_000_000:
                    cache[chunk] = chunk_ids
            ids.extend(chunk_ids)
        return ids

    def decode(self, ids) -> str:
        """Token ids → text. Bytes that are not (yet) whole UTF-8 characters show as '�' (U+FFFD)."""
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    def decode_bytes(self, ids) -> bytes:
        if hasattr(ids, "tolist"):
            ids = ids.tolist()
        ids = [int(i) for i in ids]
        bad = [i for i in ids if not 0 <= i < len(self.vocab)]
        require(
            not bad,
            f"Token id {bad[0] if bad else ''} is not in this tokenizer's vocabulary (0..{len(self.vocab) - 1}). "
            "Fix: decode ids made by this tokenizer (or a model trained with it).",
        )
        return b"".join(self.vocab[i] for i in ids)

    def mergeable_ranks(self) -> dict[bytes, int]:
        """Token bytes → id, for all tokens: what tiktoken's `Encoding(mergeable_ranks=...)` takes."""
        return dict(self._ranks)

    def truncated(self, vocab_size: int) -> BPETokenizer:
        """The tokenizer `train` would have given for a smaller `vocab_size`: training is greedy, so the
        first merges do not depend on how many follow."""
        require(
            BYTES <= vocab_size <= self.vocab_size,
            f"vocab_size={vocab_size} is out of range. Fix: use 256 to {self.vocab_size}.",
        )
        return BPETokenizer(self.merges[: vocab_size - BYTES], self.pattern)

    def library_encoding(self):
        """This tokenizer as a `tiktoken.Encoding` (no download: the ranks are ours), or None without tiktoken."""
        if self._library is None:
            try:
                import tiktoken
            except ImportError:
                self._library = False
            else:
                self._library = tiktoken.Encoding(
                    name=f"gpt-from-scratch-bpe-{self.vocab_size}",
                    pat_str=self.pattern,
                    mergeable_ranks=self.mergeable_ranks(),
                    special_tokens={},
                )
        return self._library or None

    # ---- saving --------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"type": self.kind, "pattern": self.pattern, "merges": [list(pair) for pair in self.merges]}

    @classmethod
    def from_dict(cls, state: dict) -> BPETokenizer:
        require(
            isinstance(state, dict) and isinstance(state.get("merges"), list) and isinstance(state.get("pattern"), str),
            "A saved BPE tokenizer needs 'merges' (a list of id pairs) and 'pattern' (a regex).",
        )
        return cls(state["merges"], state["pattern"])

    def __eq__(self, other) -> bool:
        return isinstance(other, BPETokenizer) and (self.merges, self.pattern) == (other.merges, other.pattern)

    __hash__ = None

    def __repr__(self) -> str:
        return f"BPETokenizer(vocab_size={self.vocab_size})"


def cached_train(text: str, vocab_size: int, cache_dir: str | os.PathLike, pattern: str = PATTERN) -> BPETokenizer:
    """`BPETokenizer.train`, remembered in `cache_dir` (keyed by the text, the pattern and the size)."""
    key = hashlib.sha256(f"bpe-v1\0{pattern}\0".encode() + text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    path = Path(cache_dir) / f"bpe-{key}-{vocab_size}.json"
    if path.is_file():
        try:
            cached = BPETokenizer.from_dict(json.loads(path.read_text()))
        except (ValueError, WorkshopError):
            cached = None  # a broken cache file is rebuilt below
        if cached is not None and cached.vocab_size == vocab_size and cached.pattern == pattern:
            return cached
    tokenizer = BPETokenizer.train(text, vocab_size, pattern)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(tokenizer.to_dict()))
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only folder: no cache, same tokenizer
    return tokenizer
