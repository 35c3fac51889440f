"""Byte-level BPE: round trips on any text, reproducible merges, tiktoken's ids, and BPE through the whole
workshop (corpus, training, checkpoints, sampling, the command line, the playground), with its bad inputs."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tiktoken
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from test_checkpoint import TEXT, tiny_trainer

from helpers import (
    GPT,
    BPETokenizer,
    CharTokenizer,
    Corpus,
    GPTConfig,
    TrainConfig,
    Trainer,
    WorkshopError,
    load_checkpoint,
    load_model,
    sample_text,
)
from helpers.bpe import PATTERN, cached_train
from helpers.checkpoint import BEST, LAST
from helpers.data import make_tokenizer, split_text, tokenizer_from_dict
from helpers.widgets import char_label, sampling_playground

REPO = Path(__file__).resolve().parents[1]
ODD_TEXTS = [
    "Roméo ☺",
    "naïve café — 12,5 €",
    "日本語のテキスト",
    "emoji 👩‍👩‍👧 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "\t\r\n \x00\x7f",
    "",
    "'s'll've",
]


@pytest.fixture(scope="module")
def small_bpe() -> BPETokenizer:
    return BPETokenizer.train(TEXT, 300)


@pytest.fixture(scope="module")
def corpus_bpe(corpus) -> BPETokenizer:
    return BPETokenizer.train(split_text(corpus.text)[0], 512)


def random_unicode(rng: random.Random, n: int) -> str:
    """Code points from every plane and category (controls, combining marks, emoji, CJK), but no surrogates."""
    points = []
    while len(points) < n:
        cp = rng.choice([rng.randrange(0x80), rng.randrange(0x800), rng.randrange(0x10000), rng.randrange(0x110000)])
        if not 0xD800 <= cp <= 0xDFFF:
            points.append(cp)
    return "".join(map(chr, points))


# ---- round trips ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ODD_TEXTS)
def test_text_it_never_saw_round_trips(small_bpe, text):
    assert small_bpe.decode(small_bpe.encode(text)) == text
    assert small_bpe.decode(small_bpe.encode_python(text)) == text


def test_arbitrary_unicode_round_trips_and_matches_tiktoken(small_bpe):
    rng = random.Random(0)
    for _ in range(200):
        text = random_unicode(rng, rng.randrange(1, 40))
        ids = small_bpe.encode_python(text)
        assert small_bpe.decode(ids) == text
        assert ids == small_bpe.library_encoding().encode_ordinary(text)


def test_random_bytes_round_trip(small_bpe):
    """Every byte value 0-255 in any order: as text (Latin-1 maps bytes to the first 256 code points,
    which UTF-8 then writes as 1 or 2 bytes), and as token ids (each byte is its own token)."""
    rng = random.Random(1)
    for _ in range(100):
        raw = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
        text = raw.decode("latin-1")
        assert small_bpe.decode(small_bpe.encode(text)) == text
        assert small_bpe.decode_bytes(list(raw)) == raw
        assert small_bpe.decode(list(raw)) == raw.decode("utf-8", errors="replace")


def test_random_ids_always_decode_and_partial_characters_show_as_replacement(small_bpe):
    rng = random.Random(2)
    for _ in range(100):
        ids = [rng.randrange(small_bpe.vocab_size) for _ in range(rng.randrange(1, 30))]
        assert small_bpe.decode_bytes(ids) == b"".join(small_bpe.vocab[i] for i in ids)
        small_bpe.decode(ids)  # never raises: invalid UTF-8 becomes U+FFFD
    smile = small_bpe.encode("☺")  # three bytes, no merges for them in this English tokenizer
    assert len(smile) == 3 and small_bpe.decode(smile[:2]) == "\ufffd" and small_bpe.decode(smile) == "☺"
    assert small_bpe.decode(torch.tensor(smile)) == "☺"


def test_without_tiktoken_the_hand_written_encoder_does_the_work(small_bpe, monkeypatch):
    expected = small_bpe.library_encoding().encode_ordinary(TEXT)
    monkeypatch.setitem(sys.modules, "tiktoken", None)  # `import tiktoken` now raises ImportError
    fresh = BPETokenizer(small_bpe.merges)
    assert fresh.library_encoding() is None
    assert fresh.encode(TEXT) == expected
    assert fresh.decode(fresh.encode("Roméo ☺")) == "Roméo ☺"


def test_lone_surrogates_become_replacement_characters_as_in_tiktoken(small_bpe):
    text = "ab\ud800cd"
    assert small_bpe.encode_python(text) == small_bpe.library_encoding().encode_ordinary(text)
    assert small_bpe.decode(small_bpe.encode(text)) == "ab\ufffdcd"


# ---- training ------------------------------------------------------------------------------------


def test_merges_are_reproducible_and_greedy():
    first, again = BPETokenizer.train(TEXT, 300), BPETokenizer.train(TEXT, 300)
    assert first.merges == again.merges and first == again
    assert BPETokenizer.train(TEXT, 290) == first.truncated(290)  # fewer merges: the same first ones


def test_ties_go_to_the_pair_whose_bytes_sort_first():
    """Every pair here occurs exactly twice; the order of the words in the text must not matter."""
    words = [" xy", " pq", " mn", " bc"]
    for order in (words, words[::-1], [" mn", " xy", " bc", " pq"]):
        tokenizer = BPETokenizer.train("".join(order * 2), 260)
        assert tokenizer.vocab[256:] == [b" b", b" m", b" p", b" x"]


def test_training_makes_the_most_frequent_pair_first():
    tokenizer = BPETokenizer.train("aaab " * 10 + "cd " * 3, 257)
    assert tokenizer.vocab[256] == b"aa"


def test_encoder_merges_by_bytes_as_tiktoken_does():
    """Tokens 'bc', 'ab', then 'abc' made from ('ab', 'c'). In 'abc', 'bc' merges first (it was learned
    first), leaving 'a'|'bc': a merge list keyed by pairs (minbpe, Hugging Face) stops there, because
    ('a', 'bc') is not a learned pair. tiktoken keys merges by the joined bytes, and 'a'+'bc' = 'abc' is
    a token: it merges. Ours must do what tiktoken does, in and out of a longer chunk."""
    a, b, c = ord("a"), ord("b"), ord("c")
    tokenizer = BPETokenizer([(b, c), (a, b), (257, c)])  # 256 'bc', 257 'ab', 258 'abc'
    library = tokenizer.library_encoding()
    for text in ("abc", "abcd", "xabc", "abcabc", "ab", "bcab"):
        assert tokenizer.encode_python(text) == library.encode_ordinary(text), text
    assert tokenizer.encode_python("abcd") == [258, ord("d")]


def test_every_trained_token_is_new_bytes_and_tiktoken_agrees_on_random_texts():
    """The trainer keeps each chunk as encode() would cut it, so no merge can repeat a token's bytes
    (tiktoken could not hold both), and tiktoken's ids equal ours on the training text and on new text."""
    rng = random.Random(3)
    for _ in range(40):
        alphabet = rng.choice(["ab", "abc", "abcd", "aé☺"])
        words = ["".join(rng.choice(alphabet) for _ in range(rng.randint(2, 8))) for _ in range(rng.randint(2, 8))]
        text = " ".join(rng.choice(words) for _ in range(200))
        tokenizer = train_at_most(text, 256 + rng.randint(1, 40))
        assert len(set(tokenizer.vocab)) == tokenizer.vocab_size
        other = " ".join(rng.choice(words) + rng.choice(alphabet) for _ in range(50))
        for sample in (text, other):
            assert tokenizer.encode_python(sample) == tokenizer.library_encoding().encode_ordinary(sample)


def train_at_most(text: str, vocab_size: int) -> BPETokenizer:
    """As many merges as asked for, or as the text allows (its error message says how many)."""
    try:
        return BPETokenizer.train(text, vocab_size)
    except WorkshopError as err:
        return BPETokenizer.train(text, int(re.search(r"vocab_size ≤ (\d+)", str(err)).group(1)))


def test_library_and_hand_written_encoders_agree_on_the_whole_corpus(corpus, corpus_bpe):
    train_text, val_text = split_text(corpus.text)
    library = tiktoken.Encoding(
        "test", pat_str=PATTERN, mergeable_ranks=corpus_bpe.mergeable_ranks(), special_tokens={}
    )
    for part in (train_text, val_text):
        ours = corpus_bpe.encode_python(part)
        assert ours == library.encode_ordinary(part) == corpus_bpe.encode(part)
        assert corpus_bpe.decode(ours) == part
    assert len(train_text) / len(corpus_bpe.encode(train_text)) > 1.5  # it compresses


def test_corpus_splits_the_text_so_every_tokenizer_gets_the_same_val_text(corpus, corpus_bpe):
    bpe_corpus = Corpus.from_tokenizer(corpus.text, corpus_bpe)
    assert corpus_bpe.decode(bpe_corpus.val) == bpe_corpus.val_text == corpus.val_text
    assert corpus.tokenizer.decode(corpus.val) == corpus.val_text
    assert len(bpe_corpus.val) < len(corpus.val)


def test_make_tokenizer_learns_bpe_from_the_train_split_only():
    text = TEXT + "zzzz qqqq " * 40  # the last 10%: words the train split never has
    tokenizer = make_tokenizer(text, "bpe", 300)
    assert tokenizer == BPETokenizer.train(split_text(text)[0], 300)
    assert not any(b"zz" in token or b"qq" in token for token in tokenizer.vocab)
    assert make_tokenizer(text) == CharTokenizer.from_text(text)


def test_cached_training_reuses_the_file_and_rebuilds_a_broken_one(tmp_path):
    first = cached_train(TEXT, 280, tmp_path)
    (cache_file,) = tmp_path.glob("bpe-*-280.json")
    assert json.loads(cache_file.read_text()) == first.to_dict()
    cache_file.write_text(json.dumps({"type": "bpe", "pattern": PATTERN, "merges": [[0, 1]] * 3}))
    assert cached_train(TEXT, 280, tmp_path) == first  # a corrupted cache is trained again...
    assert json.loads(cache_file.read_text()) == first.to_dict()  # ... and rewritten
    cache_file.write_text(json.dumps(first.truncated(270).to_dict()))  # a valid tokenizer, but not 280 tokens
    assert cached_train(TEXT, 280, tmp_path) == first
    cached_train(TEXT + "!", 280, tmp_path)
    assert len(list(tmp_path.glob("bpe-*-280.json"))) == 2  # another text, another file


# ---- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize("vocab_size", [255, 65, 0, -1, 300.0, "512"])
def test_vocab_size_below_256_or_not_a_whole_number_is_refused(vocab_size):
    with pytest.raises(WorkshopError, match=r"too small for byte-level BPE.*Fix: use 256 or more"):
        BPETokenizer.train(TEXT, vocab_size)


def test_bytes_only_is_allowed():
    tokenizer = BPETokenizer.train(TEXT, 256)
    assert tokenizer.merges == [] and tokenizer.encode("ab") == [97, 98]


@pytest.mark.parametrize("text", ["hello world", "", "abcdefghijklmnopqrstuvwxyz"])
def test_a_text_too_small_for_the_merges_says_how_many_it_can_learn(text):
    with pytest.raises(
        WorkshopError, match=r"too small for vocab_size=1024: after \d+ merges.*Fix: use vocab_size ≤ \d+"
    ):
        BPETokenizer.train(text, 1024)


def test_the_limit_in_the_message_is_right():
    text = "the cat the hat " * 5
    with pytest.raises(WorkshopError) as err:
        BPETokenizer.train(text, 1000)
    limit = int(re.search(r"vocab_size ≤ (\d+)", str(err.value)).group(1))
    assert BPETokenizer.train(text, limit).vocab_size == limit


@pytest.mark.parametrize(
    "state, message",
    [
        ({"type": "bpe", "pattern": PATTERN, "merges": [[97, 98], [256, 999]]}, r"merge 1 is \[256, 999\]"),
        ({"type": "bpe", "pattern": PATTERN, "merges": [[97, 98], [97, 98]]}, r"already token 256"),
        ({"type": "bpe", "pattern": PATTERN, "merges": [[-1, 98]]}, r"merge 0"),
        ({"type": "bpe", "pattern": PATTERN, "merges": "97 98"}, r"needs 'merges'"),
        ({"type": "bpe", "pattern": PATTERN, "merges": [[True, 98]]}, r"merge 0 is \[True, 98\]"),
        ({"type": "bpe", "pattern": PATTERN, "merges": [[97.0, 98]]}, r"merge 0 is \[97.0, 98\]"),
        ({"type": "bpe", "pattern": PATTERN, "merges": [[97, 98, 99]]}, r"merge 0 is \[97, 98, 99\]"),
        ({"type": "bpe", "pattern": "(unclosed", "merges": []}, r"not a valid regex.*Fix: use helpers.bpe.PATTERN"),
        ({"type": "bpe", "pattern": 42, "merges": []}, r"needs 'merges'.*'pattern'"),
        ({"type": "bpe", "pattern": "( ?[A-Za-z]+)|[^A-Za-z]+", "merges": []}, r"has capturing groups"),
        ({"type": "bpe", "pattern": "[A-Za-z]+", "merges": []}, r"does not cut text into pieces that join back"),
        ({"type": "bpe", "pattern": "x*", "merges": []}, r"does not cut text.*encoding would lose text"),
        ({"type": "bpe", "merges": []}, r"needs 'merges'.*'pattern'"),
        ({"type": "sentencepiece"}, r"Unknown tokenizer 'sentencepiece'"),
        ({"type": "char", "chars": "abc"}, r"list of single characters"),
        ({"type": "char", "chars": ["ab", "c"]}, r"list of single characters"),
        ([1, 2], r"Unknown tokenizer"),
    ],
)
def test_a_broken_saved_tokenizer_is_refused_with_the_reason(state, message):
    with pytest.raises(WorkshopError, match=message):
        tokenizer_from_dict(state)


def test_a_pattern_that_would_lose_text_is_refused_when_training():
    with pytest.raises(WorkshopError, match=r"does not cut text into pieces that join back.*Fix"):
        BPETokenizer.train(TEXT, 300, pattern=r"[A-Za-z]+")


def test_decoding_an_id_outside_the_vocabulary_says_so(small_bpe):
    with pytest.raises(WorkshopError, match=r"Token id 300 is not in this tokenizer's vocabulary \(0\.\.299\)"):
        small_bpe.decode([1, 300])
    with pytest.raises(WorkshopError, match=r"Token id -1"):
        small_bpe.decode([-1])


def test_make_tokenizer_refuses_a_size_for_characters_and_bpe_without_one():
    with pytest.raises(WorkshopError, match=r"vocab_size is for BPE.*Fix"):
        make_tokenizer(TEXT, "char", 512)
    with pytest.raises(WorkshopError, match=r"BPE needs a vocabulary size.*--vocab-size 512"):
        make_tokenizer(TEXT, "bpe")
    with pytest.raises(WorkshopError, match=r"Unknown tokenizer 'words'"):
        make_tokenizer(TEXT, "words")


# ---- BPE through training, checkpoints, sampling and the playground --------------------------------


def bpe_trainer(out_dir=None, tokenizer=None, **overrides) -> Trainer:
    return tiny_trainer(out_dir, tokenizer=tokenizer or BPETokenizer.train(TEXT, 300), **overrides)


@pytest.fixture(scope="module")
def bpe_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bpe-run")
    bpe_trainer(out).fit()
    return out


def test_a_bpe_checkpoint_samples_after_reload(bpe_run):
    model, tokenizer = load_model(bpe_run)
    assert isinstance(tokenizer, BPETokenizer) and tokenizer == BPETokenizer.train(TEXT, 300)
    text = sample_text(model, tokenizer, "Roméo ☺ ", 20, temperature=0.8, seed=0)
    assert text.startswith("Roméo ☺ ") and len(text) > len("Roméo ☺ ")
    assert text == sample_text(model, tokenizer, "Roméo ☺ ", 20, temperature=0.8, seed=0)


def test_a_bpe_run_resumes_and_refuses_another_tokenizer(bpe_run, tmp_path):
    for name in (BEST, LAST):
        (tmp_path / name).write_bytes((bpe_run / name).read_bytes())
    trainer = bpe_trainer(tmp_path, max_iters=6).resume()
    assert trainer.step == 4 and trainer.fit()[-1]["step"] == 6
    with pytest.raises(
        WorkshopError,
        match=r"trained with another tokenizer \(BPETokenizer\(vocab_size=300\).*--tokenizer bpe --vocab-size 300\)",
    ):
        bpe_trainer(tmp_path, tokenizer=BPETokenizer.train(TEXT, 290)).resume()


def rewrite_metadata(path: Path, out: Path, edit) -> Path:
    tensors = load_file(str(path))
    with safe_open(str(path), "pt") as f:
        metadata = f.metadata()
    edit(metadata)
    save_file(tensors, str(out), metadata=metadata)
    return out


def test_a_checkpoint_from_before_bpe_still_loads(tmp_path):
    """Checkpoints written before the tokenizer was saved as a dict held the characters as "chars"."""
    corpus = Corpus.load(text=TEXT)
    trainer = Trainer(
        GPT(GPTConfig(vocab_size=corpus.tokenizer.vocab_size, block_size=8, n_layer=1, n_head=1, n_embd=8)),
        corpus,
        TrainConfig(max_iters=1, eval_interval=1, eval_iters=1, progress=False),
    )
    saved = trainer.save(tmp_path / "new.safetensors")

    def to_old_format(metadata):
        metadata["chars"] = json.dumps(json.loads(metadata.pop("tokenizer"))["chars"])

    old = rewrite_metadata(saved, tmp_path / "old.safetensors", to_old_format)
    state = load_checkpoint(old)
    assert isinstance(state.tokenizer, CharTokenizer) and state.tokenizer == corpus.tokenizer


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda t: {**t, "merges": t["merges"] + [[0, 999]]}, r"corrupted tokenizer: BPE merge 44 is \[0, 999\]"),
        (lambda t: {**t, "merges": t["merges"][:-1]}, r"corrupted: its tokenizer has 299 tokens but its model 300"),
        (lambda t: {**t, "type": "wordpiece"}, r"corrupted tokenizer: Unknown tokenizer 'wordpiece'"),
        (lambda t: {**t, "pattern": "[a-"}, r"corrupted tokenizer: .*not a valid regex"),
    ],
    ids=["merge out of range", "merge missing", "unknown type", "broken pattern"],
)
def test_a_corrupted_tokenizer_in_a_checkpoint_is_refused(bpe_run, tmp_path, edit, message):
    def corrupt(metadata):
        metadata["tokenizer"] = json.dumps(edit(json.loads(metadata["tokenizer"])))

    broken = rewrite_metadata(bpe_run / BEST, tmp_path / "broken.safetensors", corrupt)
    with pytest.raises(WorkshopError, match=message + r".*Fix"):
        load_model(broken)


def test_the_playground_works_with_a_bpe_model(bpe_run):
    model, tokenizer = load_model(bpe_run)
    play = sampling_playground(model, tokenizer, prompt="To be ☺", length=10)
    assert play.error == "" and play.sample.startswith("To be ☺")
    assert len(play.chart["chars"]) == 20
    assert set(play.chart["chars"]) <= {tokenizer.decode([i]) for i in range(tokenizer.vocab_size)}


def test_token_labels_show_whitespace_and_control_bytes():
    assert char_label(" the\n") == "␣the⏎"
    assert char_label("\x0b") == "\\x0b" and char_label("\ufffd") == "\ufffd"


def test_cli_trains_and_samples_with_bpe(corpus_path, tmp_path):
    env = {**os.environ, "WORKSHOP_CORPUS": str(corpus_path)}
    out = tmp_path / "bpe"
    args = ["--preset", "smoke", "--out", str(out), "--tokenizer", "bpe", "--vocab-size", "300", "--max-iters", "10"]
    trained = subprocess.run(
        [sys.executable, "-m", "helpers.train", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert trained.returncode == 0, trained.stderr
    assert "BPETokenizer(vocab_size=300)" in trained.stdout
    assert len(list(out.glob("bpe-*-300.json"))) == 1  # the learned merges, cached for --resume
    sampled = subprocess.run(
        [
            sys.executable,
            "-m",
            "helpers.sample",
            "--run",
            str(out),
            "--prompt",
            "Roméo ☺",
            "--tokens",
            "20",
            "--seed",
            "1",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert sampled.returncode == 0, sampled.stderr
    assert sampled.stdout.startswith("Roméo ☺") and len(sampled.stdout) > len("Roméo ☺") + 10
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "helpers.train",
            "--preset",
            "smoke",
            "--out",
            str(tmp_path / "too-small"),  # a new folder: the one above already holds a run
            "--tokenizer",
            "bpe",
            "--vocab-size",
            "100",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (
        bad.returncode == 2
        and bad.stderr.startswith("error: vocab_size=100 is too small")
        and "Traceback" not in bad.stderr
    )


# ---- notebook 08's exercise ----------------------------------------------------------------------


def test_a_bpe_run_exports_to_transformers_through_the_command_line(bpe_run, tmp_path, capsys):
    """The run folder a BPE training writes exports and is checked against transformers (tests/test_export.py
    compares the ids, logits and generation in detail)."""
    from helpers.export import main as export_main

    assert export_main(["--run", str(bpe_run), "--out", str(tmp_path / "export")]) == 0
    assert "matches ours, largest logit difference" in capsys.readouterr().out
    exported = json.loads((tmp_path / "export" / "tokenizer.json").read_text())
    assert exported["model"]["type"] == "BPE" and len(exported["model"]["vocab"]) == 300
