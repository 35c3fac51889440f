"""The two commands: `python -m helpers.train` never overwrites a trained run silently and checks every
argument before training starts (a mistake found after the run would waste it); `python -m helpers.sample`
takes any valid setting. In-process through `main()`, on a short synthetic text: no corpus needed.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import torch
from test_checkpoint import TEXT

import helpers.sample as sample_cli
import helpers.train as train_cli
from helpers import Trainer, load_checkpoint
from helpers.checkpoint import BEST, LAST, describe_run


@pytest.fixture
def corpus_file(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(TEXT)
    return path


def train(corpus_file, out, *extra):
    """Run the command on the smoke preset; returns its exit status."""
    args = ["--preset", "smoke", "--corpus", str(corpus_file), "--out", str(out), "--device", "cpu"]
    return train_cli.main([*args, "--max-iters", "10", "--sample-tokens", "20", *extra])


def error_line(capsys) -> str:
    """The one error line on stderr (tqdm's bar, redrawn with \\r, may come before it)."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.replace("\r", "\n").strip().splitlines()[-1]


@pytest.fixture
def no_training(monkeypatch):
    """Make any training an error: these arguments must be refused before the first step."""

    def fit(self):
        raise AssertionError("training started before the arguments were checked")

    monkeypatch.setattr(Trainer, "fit", fit)


# ---- 1. a trained run is never overwritten silently ----------------------------------------------


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A smoke run of 10 steps, trained once for the module: copy it (trained_run) before changing it."""
    folder = tmp_path_factory.mktemp("finished")
    corpus = folder / "corpus.txt"
    corpus.write_text(TEXT)
    assert train(corpus, folder / "run") == 0
    return folder / "run"


@pytest.fixture
def trained_run(finished_run, tmp_path):
    return Path(shutil.copytree(finished_run, tmp_path / "run"))


def test_a_second_run_into_a_trained_folder_is_refused_and_the_model_kept(
    corpus_file, trained_run, capsys, no_training
):
    before = {name: (trained_run / name).read_bytes() for name in (BEST, LAST, "metrics.jsonl")}
    assert train(corpus_file, trained_run) == 2
    line = error_line(capsys)
    assert re.match(rf"error: {re.escape(str(trained_run))} already holds a run \(step 10, best val loss \d", line)
    assert "--resume" in line and "--out" in line and "--overwrite" in line
    assert {name: (trained_run / name).read_bytes() for name in before} == before  # nothing touched


def test_resume_still_continues_the_run(corpus_file, trained_run, capsys):
    assert train(corpus_file, trained_run, "--resume", "--max-iters", "20") == 0
    assert "resumed from" in capsys.readouterr().out
    assert load_checkpoint(trained_run / LAST).training["step"] == 20


def test_overwrite_replaces_the_run(corpus_file, trained_run, capsys):
    old_best = load_checkpoint(trained_run / BEST)
    assert train(corpus_file, trained_run, "--overwrite", "--seed", "5", "--max-iters", "4") == 0
    new_last = load_checkpoint(trained_run / LAST)
    assert new_last.training["step"] == 4 and new_last.training["train_config"]["seed"] == 5
    assert [r["step"] for r in new_last.training["history"]] == [0, 4]  # a fresh history, not the old one's
    assert not torch.equal(
        load_checkpoint(trained_run / BEST).model_state["lm_head.weight"], old_best.model_state["lm_head.weight"]
    )


def test_resume_and_overwrite_together_are_refused(corpus_file, trained_run, capsys):
    with pytest.raises(SystemExit) as exit_:
        train(corpus_file, trained_run, "--resume", "--overwrite")
    assert exit_.value.code == 2 and "not allowed with argument" in capsys.readouterr().err


def test_a_folder_without_checkpoints_is_trained_into(corpus_file, tmp_path):
    out = tmp_path / "killed-before-its-first-checkpoint"
    out.mkdir()
    (out / "metrics.jsonl").write_text("")
    assert describe_run(out) is None
    assert train(corpus_file, out) == 0


def test_describe_run_names_an_unreadable_checkpoint(tmp_path):
    (tmp_path / BEST).write_bytes(b"not a checkpoint")
    assert describe_run(tmp_path) == BEST


def test_help_documents_resume_and_overwrite(capsys):
    with pytest.raises(SystemExit):
        train_cli.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "if it already holds a run, add --resume or --overwrite" in text
    assert "--overwrite start afresh in --out, deleting the run it holds" in text


# ---- 4. every argument checked before training -------------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (["--prompt", "To bé"], r"--prompt 'To bé': The text contains 1 character\(s\) the model has never seen"),
        (["--prompt", ""], r"--prompt is empty\. Fix"),
        (["--sample-tokens", "-1"], r"--sample-tokens=-1 is invalid\. Fix: use a whole number ≥ 0"),
        (["--max-iters", "0"], r"--max-iters=0 is invalid\. Fix: use a whole number ≥ 1"),
        (["--batch-size", "-4"], r"--batch-size=-4 is invalid\. Fix"),
        (["--eval-interval", "0"], r"--eval-interval=0 is invalid\. Fix"),
        (["--eval-iters", "-1"], r"--eval-iters=-1 is invalid\. Fix"),
        (["--learning-rate", "0"], r"--learning-rate=0\.0 is invalid\. Fix: use a positive number"),
        (["--learning-rate", "inf"], r"--learning-rate=inf is invalid\. Fix"),
        (["--learning-rate", "nan"], r"--learning-rate=nan is invalid\. Fix"),
        (["--minutes", "-1"], r"--minutes=-1\.0 is invalid\. Fix: use a positive number"),
        (["--minutes", "0"], r"--minutes=0\.0 is invalid\. Fix"),
        (["--max-minutes", "5"], r"--max-minutes was replaced by --minutes N: .* Fix: use --minutes\."),
        (["--dropout", "1"], r"--dropout=1\.0 is invalid\. Fix: use a number from 0"),
        (["--dropout", "-0.1"], r"--dropout=-0\.1 is invalid\. Fix"),
        (["--seed", "-5"], r"--seed=-5 is invalid\. Fix: use a whole number from 0"),
        (["--seed", str(2**64)], r"--seed=18446744073709551616 is invalid\. Fix"),
    ],
)
def test_bad_arguments_are_refused_before_training(corpus_file, tmp_path, capsys, no_training, args, message):
    assert train(corpus_file, tmp_path / "run", *args) == 2
    line = error_line(capsys)
    assert re.match("error: " + message, line), line
    assert not (tmp_path / "run" / BEST).exists()


def test_out_that_is_a_file_is_refused(corpus_file, tmp_path, capsys, no_training):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    assert train(corpus_file, a_file) == 2
    assert error_line(capsys).startswith(f"error: --out {a_file} is a file, not a folder. Fix")
    assert a_file.read_text() == "mine"


@pytest.mark.parametrize(
    "args", [["--preset", "huge"], ["--precision", "fp8"], ["--compile", "yes"], ["--max-iters", "ten"]]
)
def test_argparse_refuses_unknown_choices_and_non_numbers(corpus_file, tmp_path, capsys, args):
    with pytest.raises(SystemExit) as exit_:
        train(corpus_file, tmp_path / "run", *args)
    assert exit_.value.code == 2 and "invalid" in capsys.readouterr().err


def test_sample_tokens_zero_prints_the_prompt_alone(corpus_file, tmp_path, capsys):
    assert train(corpus_file, tmp_path / "run", "--sample-tokens", "0", "--prompt", "To be") == 0
    assert (tmp_path / "run" / "sample.txt").read_text() == "To be"


# ---- helpers.sample ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (["--seed", "-1"], r"error: --seed=-1 is invalid\. Fix"),
        (["--tokens", "-1"], r"error: --tokens=-1 is invalid\. Fix: use a whole number ≥ 0"),
    ],
)
def test_sample_cli_refuses_bad_arguments_in_one_line(finished_run, capsys, args, message):
    assert sample_cli.main(["--run", str(finished_run), *args]) == 2
    assert re.match(message, error_line(capsys))


def test_sample_cli_device_must_be_a_known_one(finished_run, capsys):
    with pytest.raises(SystemExit) as exit_:
        sample_cli.main(["--run", str(finished_run), "--device", "gpu"])
    assert exit_.value.code == 2 and "invalid choice: 'gpu'" in capsys.readouterr().err


def test_sample_cli_tiny_temperature_is_greedy_not_a_crash(finished_run, capsys):
    """7: 1e-39 overflowed to inf/NaN probabilities and ended in a RuntimeError (exit status 1)."""
    common = ["--run", str(finished_run), "--device", "cpu", "--prompt", "To be", "--tokens", "30"]
    assert sample_cli.main([*common, "--temperature", "1e-39", "--seed", "1"]) == 0
    tiny = capsys.readouterr().out
    assert sample_cli.main([*common, "--temperature", "0"]) == 0
    assert tiny == capsys.readouterr().out
