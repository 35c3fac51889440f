"""The two commands people run: helpers.train and helpers.sample, as real subprocesses."""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(args, corpus_path, **env):
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "WORKSHOP_CORPUS": str(corpus_path), **env},
    )


def test_train_smoke_writes_metrics_plot_checkpoints_and_sample(corpus_path, tmp_path):
    out = tmp_path / "smoke"
    result = run(["helpers.train", "--preset", "smoke", "--out", str(out)], corpus_path)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [0, 10, 20, 30]
    assert records[-1]["val_loss"] < records[0]["val_loss"]
    assert (out / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "best.safetensors").stat().st_size > 0 and (out / "last.safetensors").exists()
    sample = (out / "sample.txt").read_text()
    assert len(sample) == 1 + 300 and sample in result.stdout
    assert "parameters" in result.stdout and "best val loss" in result.stdout

    sampled = run(
        ["helpers.sample", "--run", str(out), "--prompt", "ROMEO:", "--tokens", "40", "--seed", "1"], corpus_path
    )
    assert sampled.returncode == 0, sampled.stderr
    assert sampled.stdout.startswith("ROMEO:") and len(sampled.stdout.rstrip("\n")) >= 40


def test_cli_errors_are_one_line_with_exit_status_2(corpus_path, tmp_path):
    missing = run(["helpers.sample", "--run", str(tmp_path / "nope")], corpus_path)
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: No checkpoint at") and "Traceback" not in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1

    no_corpus = run(["helpers.train", "--preset", "smoke", "--out", str(tmp_path / "x")], tmp_path / "none.txt")
    assert no_corpus.returncode == 2 and "Corpus not found" in no_corpus.stderr
    assert "Traceback" not in no_corpus.stderr
