"""Several processes with torchrun: two gloo processes train as one process does, rank 0 alone writes and
prints, checkpoints resume under one process and under two, and bad launches get one clear line.

The torchrun tests start real processes (`python -m torch.distributed.run --standalone`, 2 gloo ranks on
the CPU, OMP_NUM_THREADS=1): about 20 s together on a 2-core machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from test_checkpoint import tiny_trainer

from helpers import GPT, GPTConfig, TrainConfig, Trainer, WorkshopError, distributed
from helpers.checkpoint import load_checkpoint

REPO = Path(__file__).resolve().parents[1]
WATCH = Path(__file__).resolve().parent / "watch_writes"
# Same seed, fp32, same global batch: the two runs differ only in how float sums are ordered (measured
# 9.5e-7 on losses of ~3-4, 2026-11-25); both ranks taking the same rows instead differed by 9.4e-2.
TOLERANCE = 1e-5
SMOKE = ["--preset", "smoke", "--device", "cpu", "--precision", "fp32", "--eval-interval", "5", "--sample-tokens", "40"]


def env(corpus_path, **extra):
    return {**os.environ, "WORKSHOP_CORPUS": str(corpus_path), "OMP_NUM_THREADS": "1", **extra}


def one_process(args, corpus_path, **extra):
    return subprocess.run(
        [sys.executable, "-m", "helpers.train", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,  # a few seconds when right; a rank waiting on another forever is a failure
        env=env(corpus_path, **extra),
    )


def torchrun(args, corpus_path, log_dir=None, module=True, **extra):
    logs = ["--log-dir", str(log_dir), "--redirects", "3"] if log_dir else []
    target = ["-m", "helpers.train"] if module else []
    return subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", *logs, *target, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,  # a few seconds when right; a rank waiting on another forever is a failure
        env=env(corpus_path, **extra),
    )


def curve(folder):
    return [json.loads(line) for line in (Path(folder) / "metrics.jsonl").read_text().splitlines()]


def assert_same_curves(a, b):
    assert [r["step"] for r in a] == [r["step"] for r in b]
    worst = max(abs(x[k] - y[k]) for x, y in zip(a, b) for k in ("train_loss", "val_loss"))
    assert worst < TOLERANCE, f"loss curves differ by {worst:.2e}"
    return worst


def rank_log(log_dir, rank, stream):
    (path,) = Path(log_dir).glob(f"*/attempt_0/{rank}/{stream}.log")
    return path.read_text()


@pytest.fixture(scope="module")
def runs(corpus_path, tmp_path_factory):
    """One process and two processes, the same 20 steps of the smoke preset with global batch 8."""
    base = tmp_path_factory.mktemp("ddp")
    one = one_process([*SMOKE, "--max-iters", "20", "--out", str(base / "one")], corpus_path)
    assert one.returncode == 0, one.stderr
    watched = base / "two"
    two = torchrun(
        [*SMOKE, "--max-iters", "20", "--out", str(watched)],
        corpus_path,
        log_dir=base / "logs",
        PYTHONPATH=f"{WATCH}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        WATCH_WRITES_UNDER=str(watched),
        WATCH_WRITES_LOG=str(base / "writes"),
    )
    assert two.returncode == 0, two.stderr + rank_log(base / "logs", 0, "stderr")
    return base


def test_two_processes_train_as_one_process_with_the_same_global_batch(runs):
    worst = assert_same_curves(curve(runs / "one"), curve(runs / "two"))
    print(f"largest loss difference, 1 vs 2 processes: {worst:.2e}")
    a, b = load_checkpoint(runs / "one" / "last.safetensors"), load_checkpoint(runs / "two" / "last.safetensors")
    for name, tensor in a.model_state.items():
        torch.testing.assert_close(b.model_state[name], tensor, atol=1e-5, rtol=1e-4)


def test_only_rank_0_writes_files_and_prints(runs):
    rank0_writes = (runs / "writes.0").read_text()
    for name in ("metrics.jsonl", "best.safetensors", "last.safetensors", "loss.png", "sample.txt"):
        assert name in rank0_writes
    assert not (runs / "writes.1").exists() or (runs / "writes.1").read_text() == ""
    assert rank_log(runs / "logs", 1, "stdout") == "" and rank_log(runs / "logs", 1, "stderr") == ""
    printed = rank_log(runs / "logs", 0, "stdout")
    assert printed.count("preset smoke:") == 1 and "global batch 8 = 2 processes × 1 piece(s) × 4 rows" in printed
    assert (runs / "two" / "sample.txt").read_text() in printed
    assert "training:" in rank_log(runs / "logs", 0, "stderr")  # rank 0's progress bar


def test_checkpoint_of_two_processes_resumes_under_one_and_under_two(runs, corpus_path):
    resume = [*SMOKE, "--max-iters", "30", "--resume"]
    for name in ("one_then_one", "two_then_one", "two_then_two"):
        shutil.copytree(runs / ("one" if name.startswith("one") else "two"), runs / name)
    for name, run in (("one_then_one", one_process), ("two_then_one", one_process), ("two_then_two", torchrun)):
        result = run([*resume, "--out", str(runs / name)], corpus_path)
        assert result.returncode == 0, result.stderr
        assert "resumed from" in result.stdout and "at step 20" in result.stdout
        assert [r["step"] for r in curve(runs / name)] == [0, 5, 10, 15, 20, 25, 30]
    assert_same_curves(curve(runs / "one_then_one"), curve(runs / "two_then_one"))
    assert_same_curves(curve(runs / "one_then_one"), curve(runs / "two_then_two"))


def test_ranks_share_rows_and_clock_and_resume_exactly_with_dropout_and_accumulation(corpus_path, tmp_path):
    result = torchrun(["tests/torchrun_checks.py", str(tmp_path)], corpus_path, module=False, PYTHONPATH=str(REPO))
    assert result.returncode == 0, result.stderr
    seen = json.loads((tmp_path / "results.json").read_text())
    assert seen["world_size"] == 2
    assert seen["rows_are_strided"] and seen["ranks_differ"]  # one global batch, different rows per rank
    assert seen["clock_agreed"] and seen["budget_agreed"]
    assert seen["cut_at"] == 20 and [step for step, *_ in seen["history"]] == [0, 10, 20, 30]
    assert seen["same_history_all_ranks"] and seen["same_weights_all_ranks"]


def test_a_batch_that_cannot_be_split_over_the_processes_is_one_clear_line(corpus_path, tmp_path):
    result = torchrun(
        ["--preset", "smoke", "--device", "cpu", "--batch-size", "3", "--out", str(tmp_path)], corpus_path
    )
    assert result.returncode != 0
    ours = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(ours) == 1, result.stderr  # rank 0 says it; rank 1 exits quietly
    assert "--batch-size 3 (the global batch" in ours[0] and "2 process(es)" in ours[0]
    assert "Fix: a --batch-size divisible by 2" in ours[0] and "--nproc_per_node 1 or 3" in ours[0]
    assert not (tmp_path / "metrics.jsonl").exists()


# --------------------------------------------------------------------------------------------
# The distributed module on its own (one process)


TORCHRUN_ENV = {"RANK": "1", "LOCAL_RANK": "1", "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29500"}


def test_without_torchrun_there_is_one_process_and_no_group():
    assert distributed.launch_from_env({}) == distributed.Launch(0, 0, 1)
    launch = distributed.launch_from_env(TORCHRUN_ENV)
    assert (launch.rank, launch.local_rank, launch.world_size, launch.is_main) == (1, 1, 2, False)
    assert launch.rows == slice(1, None, 2) and distributed.Launch().rows is None
    assert distributed.current() == distributed.Launch() and not distributed.active()
    value = torch.tensor(3.0)
    assert distributed.all_reduce_mean(value) is value and distributed.broadcast_from_main(2.5) == 2.5


@pytest.mark.parametrize(
    "changed, message",
    [
        ({"LOCAL_RANK": "", "MASTER_ADDR": "", "MASTER_PORT": ""}, r"RANK, WORLD_SIZE set but LOCAL_RANK, MASTER_ADDR"),
        ({"RANK": "2"}, r"RANK=2 is not a rank of WORLD_SIZE=2 \(0 to 1\)"),
        ({"RANK": "-1"}, r"RANK=-1 is not a rank of WORLD_SIZE=2"),
        ({"WORLD_SIZE": "two"}, r"WORLD_SIZE='two' is not a whole number"),
        ({"WORLD_SIZE": "0"}, r"WORLD_SIZE=0: there must be at least one process"),
        ({"LOCAL_RANK": "1", "RANK": "0"}, r"LOCAL_RANK=1 does not fit RANK=0"),
        ({"MASTER_PORT": "70000"}, r"MASTER_PORT=70000 is not a port"),
    ],
    ids=["half-set", "rank-too-high", "rank-negative", "not-a-number", "no-processes", "local-rank", "port"],
)
def test_half_set_or_bad_torchrun_variables_are_named(changed, message):
    with pytest.raises(WorkshopError, match=message + r".*Fix: start several processes with torchrun"):
        distributed.launch_from_env({**TORCHRUN_ENV, **changed})


def test_more_processes_on_a_machine_than_gpus_is_refused_before_joining(monkeypatch):
    for name, value in TORCHRUN_ENV.items():
        monkeypatch.setenv(name, value)  # rank 1 of 2, LOCAL_RANK 1
    monkeypatch.setattr(torch.distributed, "is_nccl_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    joined = []
    monkeypatch.setattr(torch.distributed, "init_process_group", lambda *a, **k: joined.append(a))
    with pytest.raises(
        WorkshopError, match=r"LOCAL_RANK=1, but this machine has 1 GPU\(s\)\. Fix: --nproc_per_node at most 1"
    ):
        distributed.init("cuda")
    assert joined == []


def test_backend_follows_the_device_and_impossible_ones_are_refused(monkeypatch):
    assert distributed.backend_for("cpu") == "gloo"
    with pytest.raises(
        WorkshopError, match=r"NCCL connects CUDA GPUs, but this run trains on cpu.*--dist-backend gloo"
    ):
        distributed.backend_for("cpu", "nccl")
    with pytest.raises(WorkshopError, match=r"no multi-process backend for Apple GPUs"):
        distributed.backend_for("mps")
    with pytest.raises(WorkshopError, match=r"Unknown backend 'mpi'"):
        distributed.backend_for("cpu", "mpi")
    monkeypatch.setattr(torch.distributed, "is_nccl_available", lambda: False)
    with pytest.raises(WorkshopError, match=r"has no nccl backend.*Fix: --dist-backend gloo"):
        distributed.backend_for("cuda")


def test_the_global_batch_splits_over_processes_and_accumulation_steps():
    assert distributed.micro_batch_size(64, 2, 4) == 8 and distributed.micro_batch_size(8) == 8
    with pytest.raises(WorkshopError, match=r"--batch-size 4 .* 8 process\(es\).*--nproc_per_node 1, 2 or 4"):
        distributed.micro_batch_size(4, 8, 1)
    with pytest.raises(WorkshopError, match=r"divisible by 3 \(e.g. 6\), or --grad-accum 1, 2, 4 or 8\."):
        distributed.micro_batch_size(8, 1, 3)


def test_a_trainer_under_torchrun_without_the_process_group_is_refused(corpus, monkeypatch):
    for name, value in TORCHRUN_ENV.items():
        monkeypatch.setenv(name, value)
    model = GPT(GPTConfig(vocab_size=65, block_size=16, n_layer=1, n_head=2, n_embd=16, dropout=0.0))
    with pytest.raises(WorkshopError, match=r"WORLD_SIZE=2\) but has not joined.*helpers.distributed.init"):
        Trainer(model, corpus, TrainConfig(batch_size=4, device="cpu", progress=False))


def test_gradient_accumulation_keeps_the_batch():
    def gradients(steps):
        """The gradients the optimizer is handed at the first step (it is stopped from stepping)."""
        trainer = tiny_trainer(grad_accum_steps=steps, precision="fp32", device="cpu", grad_clip=0.0)
        seen = []
        trainer.optimizer.step = lambda *args, **kwargs: seen.append(
            [p.grad.clone() for p in trainer.model.parameters()]
        )
        trainer.train_step()
        return seen[0]

    for whole, pieces in zip(gradients(1), gradients(4)):  # the mean over 4 pieces, not their sum
        torch.testing.assert_close(pieces, whole, atol=1e-6, rtol=1e-5)

    def history(steps):
        return tiny_trainer(max_iters=6, grad_accum_steps=steps, precision="fp32", device="cpu").fit()

    assert_same_curves(history(1), history(4))
    with pytest.raises(WorkshopError, match="grad_accum_steps must be a positive integer"):
        TrainConfig(grad_accum_steps=0)
