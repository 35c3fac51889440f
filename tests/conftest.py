"""Shared fixtures. Tests never touch the network: the corpus comes from $WORKSHOP_CORPUS, data/,
or ../shared/data (the CI layout); without any of them the corpus tests are skipped with a reason."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from helpers import GPT, CharTokenizer, Corpus, GPTConfig
from helpers.data import CORPUS_ENV_VAR, CORPUS_FILENAME, default_data_dir

REPO = Path(__file__).resolve().parents[1]


def _corpus_path() -> Path | None:
    for candidate in (
        os.environ.get(CORPUS_ENV_VAR),
        default_data_dir() / CORPUS_FILENAME,
        REPO.parent / "shared" / "data" / CORPUS_FILENAME,
    ):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def corpus_path() -> Path:
    path = _corpus_path()
    if path is None:
        pytest.skip(f"no corpus: set {CORPUS_ENV_VAR} or copy tinyshakespeare.txt into data/")
    return path


@pytest.fixture(scope="session")
def corpus(corpus_path) -> Corpus:
    return Corpus.load(corpus_path)


@pytest.fixture
def tiny_config() -> GPTConfig:
    return GPTConfig(vocab_size=65, block_size=16, n_layer=2, n_head=4, n_embd=32, dropout=0.0)


@pytest.fixture
def tiny_model(tiny_config) -> GPT:
    torch.manual_seed(0)
    return GPT(tiny_config)


@pytest.fixture
def small_tokenizer() -> CharTokenizer:
    return CharTokenizer.from_text("hello world\n")
