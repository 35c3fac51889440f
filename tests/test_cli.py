"""The two commands people run: helpers.train and helpers.sample, as real subprocesses."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_checkpoint import tiny_trainer

from helpers.checkpoint import BEST

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


def truncated_checkpoint(folder: Path) -> None:
    trainer = tiny_trainer(folder)
    trainer.fit()
    (folder / BEST).write_bytes((folder / BEST).read_bytes()[:-10])


@pytest.mark.parametrize(
    "command, message",
    [
        (["helpers.sample", "--run", "{tmp}/nope"], "error: No checkpoint at"),
        (["helpers.sample", "--run", "{tmp}"], "error: {tmp}/best.safetensors is truncated"),
        (
            ["helpers.train", "--preset", "smoke", "--out", "{tmp}/x", "--corpus", "{tmp}/none.txt"],
            "error: Corpus not found",
        ),
    ],
    ids=["no checkpoint", "truncated checkpoint", "no corpus"],
)
def test_cli_errors_are_one_line_with_exit_status_2(corpus_path, tmp_path, command, message):
    """As a real process: one `error:` line on stderr, no traceback, status 2 (the in-process cases of each
    bad input are in test_reliability.py)."""
    if "truncated" in message:
        truncated_checkpoint(tmp_path)
    result = run([part.format(tmp=tmp_path) for part in command], corpus_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(message.format(tmp=tmp_path)) and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_tools_status_is_its_own_or_0_and_its_error_one_line_with_2(capsys):
    """cli_exit_status serves helpers' commands (which return nothing or a Trainer: status 0) and tools that
    return their own status (tools/edition.py: 1 when a notebook failed)."""
    from helpers.errors import WorkshopError, cli_exit_status

    assert cli_exit_status(lambda: None) == 0
    assert cli_exit_status(lambda: object()) == 0
    assert cli_exit_status(lambda: True) == 0  # a bool is not a status
    assert cli_exit_status(lambda: 1) == 1

    def fails():
        raise WorkshopError("no notebook numbered 99\nFix: give two-digit numbers")

    assert cli_exit_status(fails) == 2
    assert capsys.readouterr().err.count("\n") == 1
