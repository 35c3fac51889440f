"""The corpus, the tokenizers (characters; byte-pair encoding from bpe.py), the train/val split and batches.

Notebook 01 builds each of these by hand (notebook 08 the BPE); everything later imports them from here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import torch

from .bpe import BPETokenizer, cached_train
from .download import download
from .errors import WorkshopError, require

CORPUS_URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
CORPUS_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"  # 1,115,394 bytes
CORPUS_FILENAME = "tinyshakespeare.txt"
CORPUS_ENV_VAR = "WORKSHOP_CORPUS"
CORPUS_VOCAB_SIZE = 65  # tiny Shakespeare's distinct characters (tests/test_data.py checks it against the file)


# --------------------------------------------------------------------------------------------
# Finding the corpus


def repo_root() -> Path | None:
    """The checkout this code runs from (the folder holding `helpers/` and `data/`), if any."""
    candidates = [Path.cwd(), *Path.cwd().parents, Path(__file__).resolve().parents[1]]
    for base in candidates:
        if (base / "helpers").is_dir() and (base / "data").is_dir():
            return base
    return None


def default_data_dir() -> Path:
    """Where the corpus is looked for and downloaded to: the repo's `data/` (else `./data`)."""
    root = repo_root()
    return root / "data" if root is not None else Path.cwd() / "data"


def download_corpus(
    dest: Path, url: str | None = None, sha256: str | None = CORPUS_SHA256, timeout: float = 30.0
) -> Path:
    """Download the corpus to `dest`, keeping it only if it is the expected text (see helpers.download).

    The SHA-256 check is what refuses a Wi-Fi login page or a half download that claims to be the corpus.
    `url` defaults to CORPUS_URL. Pass `sha256=None` for another text: it must then at least be UTF-8 text.
    """
    return download(
        url or CORPUS_URL,
        dest,
        what="the tiny Shakespeare corpus" if sha256 == CORPUS_SHA256 else "the corpus",
        fix=f"or copy the file to {dest}, or set {CORPUS_ENV_VAR}=/path/to/tinyshakespeare.txt",
        sha256=sha256,
        check=None if sha256 else load_text,
        timeout=timeout,
    )


def find_corpus(path: str | os.PathLike | None = None, download: bool = True) -> Path:
    """Locate the corpus: explicit `path` → $WORKSHOP_CORPUS → `data/` → download into `data/`."""
    for source, candidate in (("the path you gave", path), (f"${CORPUS_ENV_VAR}", os.environ.get(CORPUS_ENV_VAR))):
        if candidate:
            candidate = Path(candidate).expanduser()
            require(
                candidate.is_file(),
                f"Corpus not found at {candidate} (from {source}). "
                f"Fix: point it at the tiny Shakespeare text file, or unset it to download the corpus.",
            )
            return candidate
    local = default_data_dir() / CORPUS_FILENAME
    if local.is_file():
        return local
    require(
        download,
        f"No corpus at {local}. Fix: copy tinyshakespeare.txt there or set {CORPUS_ENV_VAR}=/path/to/it.",
    )
    return download_corpus(local)


def load_text(path: str | os.PathLike | None = None) -> str:
    """Read the corpus as text, refusing files that are not UTF-8 text."""
    path = find_corpus(path)
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")  # a byte-order mark (Windows editors) is no character
    except UnicodeDecodeError as err:
        raise WorkshopError(
            f"{path} is not UTF-8 text (byte 0x{raw[err.start]:02x} at offset {err.start}). "
            "Fix: use the plain-text tiny Shakespeare file (or any UTF-8 .txt file), not a binary or zip."
        ) from None
    require(text.strip() != "", f"{path} is empty. Fix: use a text file with some writing in it.")
    require(
        "\x00" not in text,
        f"{path} is binary or UTF-16, not UTF-8 text (it contains NUL bytes, the first at character {text.find(chr(0))}). "
        "Fix: use the plain-text tiny Shakespeare file, or re-save your text as UTF-8.",
    )
    return text


# --------------------------------------------------------------------------------------------
# Tokenizers


class Tokenizer(Protocol):
    """What the rest of helpers needs from a tokenizer (CharTokenizer, BPETokenizer): ids for the model,
    text for people, and a JSON-able dict for the checkpoint. One token's text is `decode([id])`."""

    kind: str  # "char" or "bpe": the `type` of to_dict()

    @property
    def vocab_size(self) -> int: ...
    def encode(self, text: str) -> list[int]: ...
    def decode(self, ids) -> str: ...
    def to_dict(self) -> dict: ...


class CharTokenizer:
    """Characters as tokens: each distinct character of the corpus gets an id, in sorted order."""

    kind = "char"

    def __init__(self, chars: list[str] | str):
        self.chars = list(chars)
        require(len(self.chars) > 0, "A tokenizer needs at least one character. Fix: build it from non-empty text.")
        require(len(set(self.chars)) == len(self.chars), "Tokenizer characters must be unique.")
        self.stoi = {ch: i for i, ch in enumerate(self.chars)}
        self.itos = dict(enumerate(self.chars))

    @classmethod
    def from_text(cls, text: str) -> CharTokenizer:
        """The vocabulary of `text`: sorted, so the same text always gives the same ids."""
        return cls(sorted(set(text)))

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        unknown = sorted({ch for ch in text if ch not in self.stoi})
        if unknown:
            shown = ", ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in unknown[:10])
            raise WorkshopError(
                f"The text contains {len(unknown)} character(s) the model has never seen: {shown}. "
                f"Fix: use only the {self.vocab_size} characters of the training text "
                f"(letters, digits, punctuation, space and newline: {''.join(self.chars)!r})."
            )
        return [self.stoi[ch] for ch in text]

    def decode(self, ids) -> str:
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        return "".join(self.itos[int(i)] for i in ids)

    def to_dict(self) -> dict:
        return {"type": self.kind, "chars": self.chars}

    def __eq__(self, other) -> bool:
        return isinstance(other, CharTokenizer) and self.chars == other.chars

    __hash__ = None

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={self.vocab_size})"


TOKENIZERS = {"char": CharTokenizer, "bpe": BPETokenizer}


def tokenizer_from_dict(state: dict) -> Tokenizer:
    """A tokenizer back from its `to_dict()` (as a checkpoint stores it)."""
    require(
        isinstance(state, dict) and state.get("type") in TOKENIZERS,
        f"Unknown tokenizer {state.get('type') if isinstance(state, dict) else state!r}: expected one of "
        f"{', '.join(TOKENIZERS)}.",
    )
    if state["type"] == "char":
        chars = state.get("chars")
        require(
            isinstance(chars, list) and all(isinstance(c, str) and len(c) == 1 for c in chars),
            "A saved character tokenizer needs 'chars': a list of single characters.",
        )
        return CharTokenizer(state["chars"])
    return BPETokenizer.from_dict(state)


def make_tokenizer(
    text: str, kind: str = "char", vocab_size: int | None = None, cache_dir: str | os.PathLike | None = None
) -> Tokenizer:
    """The tokenizer of a run: `char` (every character of the text), or `bpe` with `vocab_size` tokens learned
    from the train split only (the val text stays unseen, as it does for the model), cached in `cache_dir`."""
    require(kind in TOKENIZERS, f"Unknown tokenizer {kind!r}. Fix: use one of {', '.join(TOKENIZERS)}.")
    if kind == "char":
        require(
            vocab_size is None,
            "vocab_size is for BPE: the character tokenizer's vocabulary is the text's characters. "
            "Fix: drop the vocabulary size (--vocab-size), or choose the BPE tokenizer (--tokenizer bpe).",
        )
        return CharTokenizer.from_text(text)
    require(vocab_size is not None, "BPE needs a vocabulary size. Fix: give one, e.g. 512 (--vocab-size 512).")
    train_text = split_text(text)[0]
    if cache_dir is None:
        return BPETokenizer.train(train_text, vocab_size)
    return cached_train(train_text, vocab_size, cache_dir)


# --------------------------------------------------------------------------------------------
# Split and batches


def train_val_split(data: torch.Tensor, train_fraction: float = 0.9) -> tuple[torch.Tensor, torch.Tensor]:
    """First 90% for training, the last 10% for validation (contiguous, so no passage leaks)."""
    n = int(train_fraction * len(data))
    return data[:n], data[n:]


def split_text(text: str, train_fraction: float = 0.9) -> tuple[str, str]:
    """The same split on the characters: whatever the tokenizer, the val text is the last 10% of the text."""
    n = int(train_fraction * len(text))
    return text[:n], text[n:]


def draw_starts(
    n_tokens: int,
    batch_size: int,
    block_size: int,
    generator: torch.Generator | None = None,
    rows: slice | None = None,
    device: str | torch.device = "cpu",
) -> torch.Tensor:
    """Where `batch_size` random windows of `block_size + 1` tokens start, or only the `rows` of them.

    Under torchrun every rank draws the same global batch and keeps its rows (helpers.distributed), so the
    batches are the same whatever the number of processes.
    """
    require(
        n_tokens > block_size,
        f"block_size={block_size} is longer than the data ({n_tokens} tokens). "
        "Fix: lower block_size, or train on more text.",
    )
    starts = torch.randint(n_tokens - block_size, (batch_size,), device=device, generator=generator)
    return starts if rows is None else starts[rows]


def get_batch(
    data: torch.Tensor,
    batch_size: int,
    block_size: int,
    generator: torch.Generator | None = None,
    rows: slice | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """`batch_size` random windows of `block_size` tokens; `y` is `x` shifted one to the left.

    Sampled on the device that holds `data` (one gather, no host round-trip per batch).
    """
    starts = draw_starts(len(data), batch_size, block_size, generator, rows, data.device)
    windows = starts[:, None] + torch.arange(block_size + 1, device=data.device)
    chunk = data[windows]
    return chunk[:, :-1], chunk[:, 1:]


def _is_on(tensor: torch.Tensor, device: torch.device) -> bool:
    """True when `tensor` is on `device` ('cuda' means any GPU index, 'cuda:1' that one)."""
    return tensor.device.type == device.type and device.index in (None, tensor.device.index)


@dataclass
class Corpus:
    """The text, its tokenizer, and the encoded train/val splits, held on one device.

    A corpus larger than memory is a prepared one instead (helpers.prepared.PreparedCorpus): the Trainer
    uses both through `to`, `generator`, `batch`, `windows`, `tokenizer` and the lengths of `train`/`val`.
    """

    text: str
    tokenizer: Tokenizer
    train: torch.Tensor
    val: torch.Tensor

    @classmethod
    def load(
        cls, path: str | os.PathLike | None = None, device: str | torch.device = "cpu", text: str | None = None
    ) -> Corpus:
        """Load (or take) the text, build the tokenizer, encode and split it onto `device`."""
        text = load_text(path) if text is None else text
        tokenizer = CharTokenizer.from_text(text)
        return cls.from_tokenizer(text, tokenizer, device)

    @classmethod
    def from_tokenizer(cls, text: str, tokenizer: Tokenizer, device: str | torch.device = "cpu") -> Corpus:
        """Encode `text` with an existing tokenizer (BPE, or fine-tuning a trained model on a slice).

        The text is split first and each part encoded, so every tokenizer is judged on the same val text
        (for characters this is the same as splitting the ids).
        """
        train, val = (
            torch.tensor(tokenizer.encode(part), dtype=torch.long, device=device) for part in split_text(text)
        )
        return cls(text, tokenizer, train, val)

    def to(self, device: str | torch.device) -> Corpus:
        """This corpus with its splits on `device`: the very same split, whatever it is (e.g. notebook 05's
        first 2,000 characters), never re-encoded from `text`. Returns itself when already there."""
        device = torch.device(device)
        if all(_is_on(t, device) for t in (self.train, self.val)):
            return self
        return replace(self, train=self.train.to(device), val=self.val.to(device))

    @property
    def val_text(self) -> str:
        return split_text(self.text)[1]

    def generator(self, seed: int) -> torch.Generator:
        """A random generator for batches, on the device the window starts are drawn on (the data's)."""
        return torch.Generator(device=self.train.device).manual_seed(seed)

    def batch(
        self,
        split: str,
        batch_size: int,
        block_size: int,
        generator: torch.Generator | None = None,
        rows: slice | None = None,
    ):
        require(split in ("train", "val"), f"split must be 'train' or 'val', not {split!r}.")
        return get_batch(self.train if split == "train" else self.val, batch_size, block_size, generator, rows)

    def windows(self, split: str, block_size: int, first: int, stop: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Non-overlapping windows `first` to `stop` (exclusive) of a split, and their targets: a pass over
        the whole split scores every token once (Trainer.full_split_loss)."""
        data = self.train if split == "train" else self.val
        return (
            data[first * block_size : stop * block_size].view(-1, block_size),
            data[first * block_size + 1 : stop * block_size + 1].view(-1, block_size),
        )
