import pytest
import torch

from helpers import CharTokenizer, Corpus, WorkshopError, find_corpus, get_batch, load_text, train_val_split
from helpers.data import CORPUS_ENV_VAR, CORPUS_VOCAB_SIZE


def test_corpus_has_the_expected_size(corpus):
    assert len(corpus.text) == 1_115_394


def test_vocabulary_is_65_sorted_characters(corpus):
    tok = corpus.tokenizer
    assert tok.vocab_size == CORPUS_VOCAB_SIZE == 65  # the presets' parameter counts assume it
    assert tok.chars == sorted(tok.chars)
    assert tok.chars[0] == "\n" and tok.chars[1] == " "


def test_tokenizer_round_trip(corpus):
    tok = corpus.tokenizer
    passage = corpus.text[:2000]
    assert tok.decode(tok.encode(passage)) == passage
    assert tok.decode(torch.tensor(tok.encode("ROMEO:"))) == "ROMEO:"


def test_tokenizer_is_stable_across_builds(corpus):
    assert CharTokenizer.from_text(corpus.text).encode("To be") == corpus.tokenizer.encode("To be")


def test_unknown_character_names_it_and_the_fix(corpus):
    with pytest.raises(WorkshopError, match=r"'é' \(U\+00E9\).*Fix"):
        corpus.tokenizer.encode("café")


def test_split_is_90_10_and_contiguous(corpus):
    data = torch.arange(1000)
    train, val = train_val_split(data)
    assert len(train) == 900 and len(val) == 100
    assert int(train[-1]) + 1 == int(val[0])
    assert len(corpus.train) + len(corpus.val) == len(corpus.text)


def test_batches_are_shifted_by_one():
    data = torch.arange(500)
    x, y = get_batch(data, batch_size=8, block_size=16, generator=torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (8, 16)
    assert torch.equal(y[:, :-1], x[:, 1:])
    assert torch.equal(y, x + 1)  # in arange data the next token is always +1


def test_batches_are_reproducible_with_a_generator():
    data = torch.arange(500)
    a = get_batch(data, 4, 8, torch.Generator().manual_seed(3))
    b = get_batch(data, 4, 8, torch.Generator().manual_seed(3))
    assert torch.equal(a[0], b[0])


def test_block_size_longer_than_data_is_explained():
    with pytest.raises(WorkshopError, match="block_size=64 is longer than the data"):
        get_batch(torch.arange(10), 2, 64)


def test_find_corpus_prefers_explicit_path_then_env(tmp_path, monkeypatch):
    explicit, env = tmp_path / "a.txt", tmp_path / "b.txt"
    explicit.write_text("a")
    env.write_text("b")
    monkeypatch.setenv(CORPUS_ENV_VAR, str(env))
    assert find_corpus(explicit) == explicit
    assert find_corpus() == env


def test_missing_corpus_offline_gives_actionable_error(tmp_path, monkeypatch):
    monkeypatch.delenv(CORPUS_ENV_VAR, raising=False)
    monkeypatch.setattr("helpers.data.default_data_dir", lambda: tmp_path / "data")
    monkeypatch.setattr("helpers.data.CORPUS_URL", "http://127.0.0.1:9/none.txt")  # nothing listens there

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr("urllib.request.urlopen", offline)
    with pytest.raises(WorkshopError, match=r"Could not download.*WORKSHOP_CORPUS"):
        find_corpus()
    assert not (tmp_path / "data" / "tinyshakespeare.txt").exists()  # no half file left behind


def test_non_utf8_corpus_is_refused(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"PK\x03\x04\xff\xfe binary")
    with pytest.raises(WorkshopError, match="not UTF-8 text"):
        load_text(bad)


def test_moving_a_corpus_keeps_its_split(corpus):
    # notebook 05's overfitting demo: train on the first 2,000 characters only, judge on the usual val text
    sliver = Corpus(corpus.text, corpus.tokenizer, train=corpus.train[:2000], val=corpus.val)
    moved = sliver.to("meta")  # another device (shapes without memory: what a GPU would be, on a CPU-only runner)
    assert moved.train.device.type == "meta" and moved.val.device.type == "meta"
    assert moved.train.shape == (2000,) and moved.val.shape == sliver.val.shape
    assert moved.text is sliver.text and moved.tokenizer is sliver.tokenizer
    assert sliver.train.device.type == "cpu"  # the original is left where it was
    assert sliver.to("cpu") is sliver  # already there: nothing copied
