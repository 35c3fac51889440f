"""A corpus prepared once on disk: its tokens in one uint16 file, memory-mapped for training.

    python -m helpers.prepare --corpus big.txt --out data/big     # streams the text, twice
    python -m helpers.train --data data/big --preset workshop      # trains from the token file

For texts larger than memory. Preparing streams the file in chunks, so memory stays bounded whatever
its size: the character vocabulary needs the whole text, so a first pass collects the characters and a
second encodes them. Training memory-maps the token file (numpy.memmap) and reads only the windows of
each batch; the operating system keeps in memory what fits, so the corpus may be larger than RAM.

A prepared folder holds
    tokens.bin      the ids as little-endian uint16, the train split then the val split
    tokenizer.json  the tokenizer ({"type": "char", "chars": [...]})
    meta.json       format version, tokenizer type, vocabulary size, token counts, split point, and the
                    SHA-256 of tokenizer.json (a folder mixed from two preparations is refused)
meta.json is written last: a folder without it is a preparation that did not finish.

What it knows: this folder format, streaming UTF-8, memory-mapping. The character tokenizer is the one
supported; the format records the tokenizer's type, so a folder of another tokenizer is refused by name.
Tiny Shakespeare in memory stays with data.Corpus.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .checkpoint import write_atomically
from .data import CharTokenizer, draw_starts
from .errors import WorkshopError, require

FORMAT = "gpt-from-scratch/tokens-1"
TOKENS, TOKENIZER, META = "tokens.bin", "tokenizer.json", "meta.json"
TOKEN_DTYPE = np.dtype("<u2")  # uint16, little-endian on every machine
MAX_VOCAB = 2**16  # ids 0 to 65,535 fit a uint16
TOKENIZERS = ("char",)  # the tokenizers a prepared folder can hold in this version
CHUNK_BYTES = 1 << 18  # read 256 KiB at a time: a few MB of working memory, whatever the size of the text


def fix_prepare(folder) -> str:
    return f"Fix: prepare it again (python -m helpers.prepare --corpus your.txt --out {folder})."


# --------------------------------------------------------------------------------------------
# Preparing: two streaming passes


def stream_text(
    path: Path, chunk_bytes: int = CHUNK_BYTES, desc: str = "reading", progress: bool = True
) -> Iterator[str]:
    """The UTF-8 text of `path`, chunk by chunk, never all of it in memory (a byte-order mark is dropped).

    Refuses what data.load_text refuses: bytes that are not UTF-8, NUL characters (a binary or UTF-16 file).
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    size = path.stat().st_size
    offset, first = 0, True
    with open(path, "rb") as f, tqdm(total=size, unit="B", unit_scale=True, desc=desc, disable=not progress) as bar:
        while True:
            raw = f.read(chunk_bytes)
            buffered = decoder.getstate()[0]  # the start of a character cut by the previous chunk
            try:
                text = decoder.decode(raw, final=not raw)
            except UnicodeDecodeError as err:
                raise WorkshopError(
                    f"{path} is not UTF-8 text (byte 0x{(buffered + raw)[err.start]:02x} at offset "
                    f"{offset - len(buffered) + err.start:,}). Fix: prepare a plain-text file saved as UTF-8, "
                    "not a binary or zip."
                ) from None
            if first:
                text, first = text.removeprefix("\ufeff"), False
            require(
                "\x00" not in text,
                f"{path} is binary or UTF-16, not UTF-8 text (it contains NUL bytes). Fix: re-save it as UTF-8.",
            )
            offset += len(raw)
            bar.update(len(raw))
            if text:
                yield text
            if not raw:
                return


def code_points(text: str) -> np.ndarray:
    """The Unicode code points of `text`, as one uint32 array (a view of its UTF-32 bytes: fast)."""
    return np.frombuffer(text.encode("utf-32-le"), dtype="<u4")


def count_characters(path: Path, chunk_bytes: int = CHUNK_BYTES, progress: bool = True) -> np.ndarray:
    """Pass 1: how often each code point occurs (index = code point), streaming."""
    counts = np.zeros(128, dtype=np.int64)
    for text in stream_text(path, chunk_bytes, "pass 1/2: characters", progress):
        chunk_counts = np.bincount(code_points(text))
        if len(chunk_counts) > len(counts):
            counts = np.concatenate([counts, np.zeros(len(chunk_counts) - len(counts), dtype=np.int64)])
        counts[: len(chunk_counts)] += chunk_counts
    return counts


def prepare(
    corpus: str | os.PathLike,
    out: str | os.PathLike,
    train_fraction: float = 0.9,
    chunk_bytes: int = CHUNK_BYTES,
    progress: bool = True,
) -> dict:
    """Tokenize the text file `corpus` into the prepared folder `out`, streaming; returns its meta.

    The split is the one data.Corpus makes: the first `train_fraction` of the tokens train, the rest
    validate, so tiny Shakespeare prepared here trains exactly as it does in memory.
    """
    corpus, out = Path(corpus).expanduser(), Path(out).expanduser()
    require(corpus.is_file(), f"No text file at {corpus}. Fix: give the path of a UTF-8 .txt file (--corpus).")
    require(not out.exists() or out.is_dir(), f"--out {out} is a file. Fix: give a folder (e.g. data/big).")
    require(0 < train_fraction < 1, f"train_fraction must be between 0 and 1, not {train_fraction}.")
    counts = count_characters(corpus, chunk_bytes, progress)
    chars = [chr(c) for c in np.flatnonzero(counts)]  # sorted by code point, as CharTokenizer.from_text
    total = int(counts.sum())
    require(total > 0, f"{corpus} is empty. Fix: prepare a text file with some writing in it.")
    require(
        len(chars) <= MAX_VOCAB,
        f"{corpus} has {len(chars):,} distinct characters, but a uint16 token file holds ids up to "
        f"{MAX_VOCAB - 1:,} (a vocabulary of at most {MAX_VOCAB:,}). Fix: clean the text of rare symbols "
        "(e.g. keep one script), or split it into corpora of fewer characters.",
    )
    tokenizer = CharTokenizer(chars)
    n_train = int(train_fraction * total)
    require(
        0 < n_train < total,
        f"{corpus} holds {total} characters: too few to split into train and val. Fix: prepare a longer text.",
    )

    out.mkdir(parents=True, exist_ok=True)
    (out / META).unlink(missing_ok=True)  # from here until the new meta.json, the folder is unfinished
    lookup = np.full(len(counts), -1, dtype=np.int32)
    lookup[np.flatnonzero(counts)] = np.arange(len(chars), dtype=np.int32)
    written = 0
    tmp = out / f".{TOKENS}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as f:
            for text in stream_text(corpus, chunk_bytes, "pass 2/2: encoding", progress):
                points = code_points(text)
                ids = lookup[points] if int(points.max()) < len(lookup) else None  # -1: a character never seen
                require(
                    ids is not None and int(ids.min()) >= 0,
                    f"{corpus} changed while it was being prepared (a character pass 1 did not see). "
                    "Fix: prepare it again once nothing writes to it.",
                )
                f.write(ids.astype(TOKEN_DTYPE))
                written += len(ids)
            f.flush()
            os.fsync(f.fileno())
        require(
            written == total,
            f"{corpus} changed while it was being prepared ({total:,} characters, then {written:,}). "
            "Fix: prepare it again once nothing writes to it.",
        )
        os.replace(tmp, out / TOKENS)
    finally:
        tmp.unlink(missing_ok=True)
    tokenizer_bytes = json.dumps(tokenizer.to_dict(), ensure_ascii=False).encode()
    write_atomically(out / TOKENIZER, tokenizer_bytes)
    meta = {
        "format": FORMAT,
        "tokenizer": tokenizer.kind,
        "vocab_size": tokenizer.vocab_size,
        "dtype": "uint16",
        "tokens": total,
        "train_tokens": n_train,
        "val_tokens": total - n_train,
        "train_fraction": train_fraction,
        "tokenizer_sha256": hashlib.sha256(tokenizer_bytes).hexdigest(),
        "source": {"file": corpus.name, "bytes": corpus.stat().st_size},
    }
    write_atomically(out / META, (json.dumps(meta, indent=1) + "\n").encode())
    return meta


# --------------------------------------------------------------------------------------------
# Training from a prepared folder


@dataclass
class PreparedCorpus:
    """A prepared folder, memory-mapped: batches read only their windows and land on `device`.

    Used by the Trainer like data.Corpus (`to`, `generator`, `batch`, `windows`, `tokenizer`, len of
    `train`/`val`); `train` and `val` are numpy memmaps, not tensors. Window starts are drawn on the CPU
    (they index the file), with the same draw as data.get_batch, so the same seed gives the same batches.
    """

    folder: Path
    tokenizer: CharTokenizer
    meta: dict
    tokens: np.memmap
    device: torch.device = torch.device("cpu")

    @property
    def train(self) -> np.ndarray:
        return self.tokens[: self.meta["train_tokens"]]

    @property
    def val(self) -> np.ndarray:
        return self.tokens[self.meta["train_tokens"] :]

    def to(self, device: str | torch.device) -> PreparedCorpus:
        """The same folder, with batches landing on `device` (the tokens stay in the file)."""
        return replace(self, device=torch.device(device))

    def generator(self, seed: int) -> torch.Generator:
        return torch.Generator().manual_seed(seed)  # on the CPU: the starts index the file

    def _as_tensor(self, ids: np.ndarray) -> torch.Tensor:
        batch = torch.from_numpy(ids.astype(np.int64))
        if self.device.type == "cuda":  # pinned memory: the copy to the GPU runs while the CPU goes on
            return batch.pin_memory().to(self.device, non_blocking=True)
        return batch.to(self.device)

    def batch(
        self,
        split: str,
        batch_size: int,
        block_size: int,
        generator: torch.Generator | None = None,
        rows: slice | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Random windows as data.get_batch draws them; only those windows are read from the file."""
        require(split in ("train", "val"), f"split must be 'train' or 'val', not {split!r}.")
        data = self.train if split == "train" else self.val
        starts = draw_starts(len(data), batch_size, block_size, generator, rows).numpy()
        chunk = self._as_tensor(data[starts[:, None] + np.arange(block_size + 1)])
        return chunk[:, :-1], chunk[:, 1:]

    def windows(self, split: str, block_size: int, first: int, stop: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Non-overlapping windows `first` to `stop` (exclusive) of a split and their targets (see Corpus)."""
        data = self.train if split == "train" else self.val
        chunk = self._as_tensor(data[first * block_size : stop * block_size + 1])
        return chunk[:-1].view(-1, block_size), chunk[1:].view(-1, block_size)

    def __repr__(self) -> str:
        m = self.meta
        return (
            f"PreparedCorpus({self.folder}: {m['tokens']:,} {m['tokenizer']} tokens, vocab {m['vocab_size']}, "
            f"train {m['train_tokens']:,} / val {m['val_tokens']:,})"
        )


def _read_json(path: Path, folder: Path, what: str) -> dict:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise WorkshopError(f"{folder}'s {what} is unreadable ({type(err).__name__}). {fix_prepare(folder)}") from None
    require(isinstance(value, dict), f"{folder}'s {what} is not a JSON object. {fix_prepare(folder)}")
    return value


def load_prepared(
    folder: str | os.PathLike, device: str | torch.device = "cpu", tokenizer: str | None = None
) -> PreparedCorpus:
    """Open a prepared folder for training, checking that its three files belong together.

    `tokenizer` (e.g. "char"), when given, is the tokenizer the run expects: a folder of another is refused.
    """
    folder = Path(folder).expanduser()
    require(
        folder.is_dir(),
        f"No prepared corpus at {folder}. Fix: python -m helpers.prepare --corpus your.txt --out {folder}.",
    )
    require(
        (folder / META).is_file(),
        f"{folder} holds no {META}: it is not a prepared corpus, or its preparation did not finish. "
        + fix_prepare(folder),
    )
    meta = _read_json(folder / META, folder, META)
    require(
        meta.get("format") == FORMAT,
        f"{folder} was prepared in format {meta.get('format')!r}; this version reads {FORMAT!r}. "
        + fix_prepare(folder),
    )
    kind = meta.get("tokenizer")
    require(
        kind in TOKENIZERS,
        f"{folder} holds tokens of the {kind!r} tokenizer; this version trains on prepared folders of "
        f"{', '.join(map(repr, TOKENIZERS))} tokens only. Fix: prepare the text again here "
        f"(python -m helpers.prepare --corpus your.txt --out {folder}-char), or update gpt-from-scratch.",
    )
    require(
        tokenizer in (None, kind),
        f"{folder} holds tokens of the {kind!r} tokenizer, not {tokenizer!r} as this run asks. Fix: train with "
        f"the {kind!r} tokenizer, or prepare the text again for {tokenizer!r} into another folder.",
    )
    counts = {key: meta.get(key) for key in ("vocab_size", "tokens", "train_tokens", "val_tokens")}
    require(
        all(isinstance(v, int) and v > 0 for v in counts.values())
        and counts["train_tokens"] + counts["val_tokens"] == counts["tokens"]
        and counts["vocab_size"] <= MAX_VOCAB
        and meta.get("dtype") == "uint16",
        f"{folder}'s {META} is inconsistent ({counts}, dtype {meta.get('dtype')!r}). {fix_prepare(folder)}",
    )
    require((folder / TOKENIZER).is_file(), f"{folder} holds no {TOKENIZER}. {fix_prepare(folder)}")
    tokenizer_bytes = (folder / TOKENIZER).read_bytes()
    require(
        hashlib.sha256(tokenizer_bytes).hexdigest() == meta.get("tokenizer_sha256"),
        f"{folder}'s {TOKENIZER} is not the one its tokens were made with (its SHA-256 differs from the one in "
        f"{META}): the folder mixes files of two preparations. {fix_prepare(folder)}",
    )
    state = _read_json(folder / TOKENIZER, folder, TOKENIZER)
    chars = state.get("chars")
    require(
        state.get("type") == kind and isinstance(chars, list) and len(chars) == meta["vocab_size"],
        f"{folder}'s {TOKENIZER} ({state.get('type')!r}, {len(chars) if isinstance(chars, list) else '?'} tokens) "
        f"disagrees with {META} ({kind!r}, {meta['vocab_size']} tokens). {fix_prepare(folder)}",
    )
    tokens_path = folder / TOKENS
    require(tokens_path.is_file(), f"{folder} holds no token file {TOKENS}. {fix_prepare(folder)}")
    expected, present = meta["tokens"] * TOKEN_DTYPE.itemsize, tokens_path.stat().st_size
    require(
        present == expected,
        f"{tokens_path} is {'truncated' if present < expected else 'longer than its meta says'}: "
        f"{present:,} bytes, but {META} counts {meta['tokens']:,} tokens ({expected:,} bytes). "
        f"A copy that did not finish, or files of two preparations? {fix_prepare(folder)}",
    )
    tokens = np.memmap(tokens_path, dtype=TOKEN_DTYPE, mode="r", shape=(meta["tokens"],))
    return PreparedCorpus(folder, CharTokenizer(chars), meta, tokens, torch.device(device))
