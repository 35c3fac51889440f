"""Prepared corpora: streaming tokenization into a uint16 file in bounded memory, memory-mapped training that
matches the in-memory corpus exactly, and a clear refusal for every broken or foreign folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import GPT, CharTokenizer, GPTConfig, TrainConfig, Trainer, WorkshopError
from helpers.prepared import META, TOKENIZER, TOKENS, load_prepared, prepare
from helpers.train import main as train_main

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def prepared_tiny(corpus_path, tmp_path_factory):
    """Tiny Shakespeare prepared in 64 KiB chunks (many chunk boundaries)."""
    out = tmp_path_factory.mktemp("prepared") / "tiny"
    prepare(corpus_path, out, chunk_bytes=1 << 16, progress=False)
    return out


def test_prepared_tiny_shakespeare_holds_the_in_memory_corpus(prepared_tiny, corpus):
    data = load_prepared(prepared_tiny)
    assert data.tokenizer.chars == corpus.tokenizer.chars
    assert np.array_equal(data.train, corpus.train.numpy()) and np.array_equal(data.val, corpus.val.numpy())
    assert isinstance(data.tokens, np.memmap) and data.tokens.dtype == np.uint16
    meta = json.loads((prepared_tiny / META).read_text())
    assert meta["format"] == "gpt-from-scratch/tokens-1" and meta["tokenizer"] == "char"
    assert (meta["vocab_size"], meta["tokens"], meta["train_tokens"]) == (65, 1_115_394, len(corpus.train))
    assert (prepared_tiny / TOKENS).stat().st_size == 2 * 1_115_394


def test_characters_cut_by_chunk_boundaries_and_a_byte_order_mark(tmp_path):
    text = "Ça ira — naïve café ☃ 🎭 Ω\nWherefore? ünd 𝄞 ok\n" * 50
    (tmp_path / "t.txt").write_bytes(b"\xef\xbb\xbf" + text.encode())
    prepare(tmp_path / "t.txt", tmp_path / "p", chunk_bytes=3, progress=False)  # every multi-byte character is cut
    data = load_prepared(tmp_path / "p")
    expected = CharTokenizer.from_text(text)
    assert data.tokenizer.chars == expected.chars
    assert list(np.concatenate([data.train, data.val])) == expected.encode(text)


def test_batches_and_windows_are_those_of_the_in_memory_corpus(prepared_tiny, corpus):
    data = load_prepared(prepared_tiny)
    for rows in (None, slice(1, None, 2)):
        a = data.batch("train", 8, 16, data.generator(3), rows)
        b = corpus.batch("train", 8, 16, corpus.generator(3), rows)
        assert all(torch.equal(p, q) and p.dtype == torch.long for p, q in zip(a, b))
    assert all(torch.equal(p, q) for p, q in zip(data.windows("val", 16, 2, 9), corpus.windows("val", 16, 2, 9)))


def test_training_on_the_memory_map_matches_training_in_memory(prepared_tiny, corpus):
    def history(source, full_split):
        torch.manual_seed(0)
        model = GPT(GPTConfig(vocab_size=65, block_size=32, n_layer=2, n_head=2, n_embd=32, dropout=0.1))
        cfg = TrainConfig(batch_size=8, max_iters=20, warmup_iters=5, eval_interval=10, eval_iters=2, progress=False)
        cfg.val_full_split = full_split
        return Trainer(model, source, cfg).fit()

    losses = lambda history: [(r["step"], r["train_loss"], r["val_loss"]) for r in history]
    for full_split in (False, True):
        assert losses(history(load_prepared(prepared_tiny), full_split)) == losses(history(corpus, full_split))


def test_train_command_trains_on_a_prepared_folder(prepared_tiny, tmp_path, capsys):
    status = train_main(
        ["--data", str(prepared_tiny), "--preset", "smoke", "--max-iters", "10", "--out", str(tmp_path / "run")]
        + ["--device", "cpu", "--sample-tokens", "30"]
    )
    printed = capsys.readouterr()
    assert status == 0, printed.err
    assert "PreparedCorpus(" in printed.out and "1,115,394 char tokens" in printed.out
    assert (tmp_path / "run" / "best.safetensors").is_file() and (tmp_path / "run" / "sample.txt").is_file()
    status = train_main(["--data", str(prepared_tiny), "--corpus", "x.txt", "--out", str(tmp_path / "r2")])
    assert status == 2 and "--corpus and --data both name the text" in capsys.readouterr().err


def test_prepare_keeps_memory_bounded_far_below_the_file_size(tmp_path):
    """64 MB of text in a child process: its peak memory grows by the working set of one chunk, a few MB
    (the 200 MB measurement is benchmarks/bench_prepare.py)."""
    line = "To be, or not to be — that is the question ☃ Wherefore art thou, Romeo?\n".encode()
    big = tmp_path / "big.txt"
    with open(big, "wb") as f:
        for _ in range(64_000_000 // (len(line) * 1000)):
            f.write(line * 1000)
    probe = (
        "import resource, sys\n"
        "from helpers.prepared import prepare\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "prepare(sys.argv[1], sys.argv[2], progress=False)\n"
        "print(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(big), str(tmp_path / "out")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 0, result.stderr
    unit = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    before, peak = (int(v) * unit for v in result.stdout.split())
    size = big.stat().st_size
    assert peak - before < size / 5, f"peak memory grew by {(peak - before) / 1e6:.1f} MB for {size / 1e6:.0f} MB"
    assert load_prepared(tmp_path / "out").meta["tokens"] == len(big.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------------------------
# Bad input: one message naming the problem and the fix


def test_texts_that_cannot_be_prepared_are_refused(tmp_path):
    cases = {
        "latin1.txt": ("café\n".encode("latin-1"), r"not UTF-8 text \(byte 0xe9 at offset 3\)"),
        "empty.txt": (b"", r"is empty"),
        "utf16.txt": ("hello\n".encode("utf-16-le"), r"binary or UTF-16"),
        "short.txt": (b"a", r"too few to split"),
    }
    for name, (raw, message) in cases.items():
        (tmp_path / name).write_bytes(raw)
        with pytest.raises(WorkshopError, match=message):
            prepare(tmp_path / name, tmp_path / "out", progress=False)
    with pytest.raises(WorkshopError, match=r"No text file at .*missing.txt"):
        prepare(tmp_path / "missing.txt", tmp_path / "out", progress=False)
    with pytest.raises(WorkshopError, match=r"--out .* is a file"):
        prepare(tmp_path / "latin1.txt", tmp_path / "empty.txt", progress=False)


def test_more_characters_than_uint16_ids_is_refused_before_writing(tmp_path):
    chars = [chr(c) for c in range(0x20, 0x30000) if not 0xD800 <= c < 0xE000][: 2**16 + 1]
    (tmp_path / "wide.txt").write_text("".join(chars), encoding="utf-8")
    with pytest.raises(WorkshopError, match=r"65,537 distinct characters.*ids up to 65,535.*Fix"):
        prepare(tmp_path / "wide.txt", tmp_path / "out", progress=False)
    assert not (tmp_path / "out" / TOKENS).exists()


def damaged(prepared_tiny, tmp_path, change) -> Path:
    folder = tmp_path / "copy"
    folder.mkdir()
    for name in (TOKENS, TOKENIZER, META):
        (folder / name).write_bytes((prepared_tiny / name).read_bytes())
    change(folder)
    return folder


def edit_meta(**values):
    def change(folder):
        meta = json.loads((folder / META).read_text())
        (folder / META).write_text(json.dumps({**meta, **values}))

    return change


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda f: (f / META).unlink(), r"holds no meta.json: .*did not finish. Fix: prepare it again"),
        (lambda f: (f / TOKENS).unlink(), r"holds no token file tokens.bin\. Fix: prepare it again"),
        (
            lambda f: os.truncate(f / TOKENS, 1000),
            r"tokens.bin is truncated: 1,000 bytes, but meta.json counts 1,115,394 tokens \(2,230,788 bytes\)",
        ),
        (edit_meta(tokenizer="bpe"), r"holds tokens of the 'bpe' tokenizer; this version trains on .*'char'.*Fix"),
        (edit_meta(format="gpt-from-scratch/tokens-0"), r"prepared in format 'gpt-from-scratch/tokens-0'.*Fix"),
        (edit_meta(tokens=5), r"meta.json is inconsistent"),
        (
            lambda f: (f / TOKENIZER).write_text(json.dumps({"type": "char", "chars": list("abc")})),
            r"tokenizer.json is not the one its tokens were made with .*mixes files of two preparations",
        ),
        (edit_meta(vocab_size=64), r"tokenizer.json \('char', 65 tokens\) disagrees with meta.json \('char', 64"),
        (lambda f: (f / META).write_text("{not json"), r"meta.json is unreadable"),
    ],
    ids=["unfinished", "no-tokens", "truncated", "other-tokenizer", "old-format", "counts", "swapped", "vocab", "json"],
)
def test_broken_or_foreign_prepared_folders_are_refused(prepared_tiny, tmp_path, change, message):
    with pytest.raises(WorkshopError, match=message):
        load_prepared(damaged(prepared_tiny, tmp_path, change))


def test_a_folder_of_another_tokenizer_than_the_run_asks_is_refused(prepared_tiny, tmp_path):
    with pytest.raises(WorkshopError, match=r"'char' tokenizer, not 'bpe' as this run asks"):
        load_prepared(prepared_tiny, tokenizer="bpe")
    with pytest.raises(WorkshopError, match=r"No prepared corpus at .*nowhere. Fix: python -m helpers.prepare"):
        load_prepared(tmp_path / "nowhere")


def test_prepare_command_prints_one_error_line(tmp_path):
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\x00")
    result = subprocess.run(
        [sys.executable, "-m", "helpers.prepare", "--corpus", str(tmp_path / "bad.txt"), "--out", str(tmp_path / "o")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]  # after the progress bar of the pass that found it
    assert last.startswith("error: ") and "bad.txt is not UTF-8 text (byte 0xff at offset 0)" in last
