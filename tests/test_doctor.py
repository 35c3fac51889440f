"""python -m helpers.doctor (checks in helpers/preflight.py): each verdict with the machine faked.

The machine is faked where preflight reads it: torch.cuda and torch.backends.mps (through monkeypatch),
package versions, Colab, free disk, memory; the corpus comes from a local server on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest
import torch

from helpers import doctor as doctor_cli
from helpers import preflight
from helpers.preflight import FAIL, OK, WARN, Probe, Verdict

REPO = Path(__file__).resolve().parents[1]
NO_TIMINGS = REPO / "docs" / "no-such-timings.json"  # the speed checks below, without recorded notebook times


# ---- faking a machine ----------------------------------------------------------------------------
def fake_cuda(monkeypatch, capability=(7, 5), name="Tesla T4"):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: name)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)  # what a T4 claims: never asked


def no_gpu(monkeypatch, cuda_build=None, mps=False):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    monkeypatch.setattr(torch.version, "cuda", cuda_build)


# ---- versions ----------------------------------------------------------------------------------
def test_python_below_the_minimum_fails():
    assert preflight.check_python((3, 9, 18)).status == FAIL
    assert "3.10 or newer" in preflight.check_python((3, 9, 18)).fix
    assert preflight.check_python((3, 13, 0)) == Verdict("python", OK, "Python 3.13.0")


def test_old_torch_fails(monkeypatch):
    monkeypatch.setattr(preflight, "torch_version", lambda: (2, 10))
    verdict = preflight.check_torch()
    assert verdict.status == FAIL and "torch>=2.11" in verdict.fix
    monkeypatch.setattr(preflight, "torch_version", lambda: (2, 11))
    assert preflight.check_torch().status == OK


def test_minimum_versions_are_pyprojects():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=" + ".".join(map(str, preflight.MIN_PYTHON))
    deps = {re.split(r"[<>=]", d)[0]: d for d in project["dependencies"]}
    assert deps["torch"] == "torch>=" + ".".join(map(str, preflight.MIN_TORCH))
    (low, high) = preflight.IPYWIDGETS_RANGE
    assert deps["ipywidgets"] == f"ipywidgets>={low[0]}.{low[1]},<{high[0]}"


@pytest.mark.parametrize(
    "version, colab, status",
    [
        ("7.7.1", True, OK),  # Colab's own
        ("8.1.5", False, OK),  # JupyterLab, VS Code
        ("8.1.5", True, WARN),  # upgraded in Colab: its front end renders 7
        ("7.6.5", False, WARN),
        ("9.0.0", False, WARN),
        (None, False, WARN),
    ],
)
def test_widget_versions(monkeypatch, version, colab, status):
    monkeypatch.setattr(preflight, "package_version", lambda name: version)
    monkeypatch.setattr(preflight, "in_colab", lambda: colab)
    verdict = preflight.check_widgets()
    assert verdict.status == status, verdict
    if colab and status == WARN:
        assert "ipywidgets==7.7.1" in verdict.fix and "Restart" in verdict.fix


def test_smoke_mode_left_on_is_a_warning(monkeypatch):
    monkeypatch.setenv("WORKSHOP_SMOKE", "1")
    verdict = preflight.check_smoke_mode()
    assert verdict.status == WARN and "unset WORKSHOP_SMOKE" in verdict.fix
    monkeypatch.setenv("WORKSHOP_SMOKE", "0")
    assert preflight.check_smoke_mode().status == OK


def test_missing_matplotlib_fails(monkeypatch):
    monkeypatch.setattr(preflight, "package_version", lambda name: None)
    assert preflight.check_plotting().status == FAIL
    monkeypatch.setattr(preflight, "package_version", lambda name: "3.10.0")  # Colab's
    assert preflight.check_plotting() == Verdict("plots", OK, "matplotlib 3.10.0 (PNG images: no ipympl needed)")


def test_version_tuple():
    assert preflight.version_tuple("2.11.0+cu126") == (2, 11, 0)
    assert preflight.version_tuple("8.1.5rc1") == (8, 1, 5)
    assert preflight.version_tuple("7.7") == (7, 7)


# ---- GPU, device, precision, compile ---------------------------------------------------------------
def test_cuda_build_without_a_gpu_in_colab_says_how_to_get_one(monkeypatch):
    no_gpu(monkeypatch, cuda_build="12.6")
    monkeypatch.setattr(preflight, "in_colab", lambda: True)
    verdict = preflight.check_gpu()
    assert verdict.status == WARN and "CUDA 12.6" in verdict.found and "no GPU" in verdict.found
    assert "Change runtime type" in verdict.fix
    monkeypatch.setattr(preflight, "in_colab", lambda: False)
    assert "nvidia-smi" in preflight.check_gpu().fix


def test_mps_on_an_old_torch_is_flagged(monkeypatch):
    no_gpu(monkeypatch, mps=True)
    monkeypatch.setattr(preflight, "torch_version", lambda: (2, 3))
    verdict = preflight.check_gpu()
    assert verdict.status == WARN and "MPS" in verdict.found and "uses the CPU" in verdict.found
    monkeypatch.setattr(preflight, "torch_version", lambda: (2, 5))
    assert preflight.check_gpu() == Verdict("gpu", OK, "Apple GPU (MPS)")


def test_a_cpu_only_machine_is_fine(monkeypatch):
    no_gpu(monkeypatch)
    assert preflight.check_gpu().status == OK


@pytest.mark.parametrize(
    "capability, name, precision",
    [((7, 5), "Tesla T4", "fp16 with a gradient scaler"), ((8, 0), "NVIDIA A100", "bf16 autocast")],
)
def test_precision_is_decided_by_compute_capability(monkeypatch, capability, name, precision):
    fake_cuda(monkeypatch, capability, name)
    gpu = preflight.check_gpu()
    assert gpu.status == OK and f"compute capability {capability[0]}.{capability[1]}" in gpu.found
    verdict, device = preflight.check_device()
    assert device == "cuda" and verdict.found.startswith(f"cuda, {precision}")


def test_cpu_precision_follows_its_instructions(monkeypatch):
    no_gpu(monkeypatch)
    monkeypatch.setattr("helpers.device.cpu_has_fast_bf16", lambda: False)
    assert preflight.check_device()[0].found == "cpu, fp32"
    monkeypatch.setattr("helpers.device.cpu_has_fast_bf16", lambda: True)
    assert preflight.check_device()[0].found == "cpu, bf16 autocast (CPU with bf16)"


def test_compile_off_where_it_does_not_pay():
    verdict = preflight.check_compile("cpu")
    assert verdict.status == OK and verdict.found.startswith("off (") and "eager" in verdict.found


def test_compile_that_fails_falls_back_to_eager(monkeypatch):
    monkeypatch.setattr(preflight, "compile_supported", lambda device: (True, ""))

    def broken(fn):
        raise RuntimeError("Cannot find a working triton installation\nmore lines")

    monkeypatch.setattr(torch, "compile", broken)
    verdict = preflight.check_compile("cpu")
    assert verdict.status == WARN and "RuntimeError: Cannot find a working triton installation" in verdict.found
    assert "falls back to eager" in verdict.found and "more lines" not in verdict.found


def test_compile_that_computes_wrong_is_flagged(monkeypatch):
    monkeypatch.setattr(preflight, "compile_supported", lambda device: (True, ""))
    monkeypatch.setattr(torch, "compile", lambda fn: lambda x: fn(x) + 1)
    verdict = preflight.check_compile("cpu")
    assert verdict.status == WARN and "wrong result" in verdict.found and "compile=False" in verdict.fix


def test_compile_that_works(monkeypatch):
    monkeypatch.setattr(preflight, "compile_supported", lambda device: (True, ""))
    monkeypatch.setattr(torch, "compile", lambda fn: fn)
    assert preflight.check_compile("cpu").status == OK
    assert "not tried" in preflight.check_compile("cpu", try_it=False).found


# ---- corpus, disk, memory ----------------------------------------------------------------------
@pytest.fixture
def empty_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("WORKSHOP_CORPUS", raising=False)
    data = tmp_path / "data"
    monkeypatch.setattr("helpers.data.default_data_dir", lambda: data)
    monkeypatch.setattr(preflight, "default_data_dir", lambda: data)
    return data


def test_corpus_found(empty_data_dir, corpus_path):
    empty_data_dir.mkdir()
    (empty_data_dir / "tinyshakespeare.txt").write_bytes(corpus_path.read_bytes())
    verdict = preflight.check_corpus(download=False)
    assert verdict.status == OK and "1,115,394 bytes" in verdict.found


def test_missing_corpus_without_download_is_a_warning(empty_data_dir):
    verdict = preflight.check_corpus(download=False)
    assert verdict.status == WARN and "not found" in verdict.found and not empty_data_dir.exists()


def test_missing_corpus_is_downloaded_and_verified(empty_data_dir, local_server, corpus_path):
    url = local_server.serve("/input.txt", corpus_path.read_bytes(), content_type="text/plain")
    verdict = preflight.check_corpus(url=url)
    assert verdict.status == OK and "checksum verified" in verdict.found
    assert (empty_data_dir / "tinyshakespeare.txt").read_bytes() == corpus_path.read_bytes()


def test_corpus_that_cannot_be_downloaded_fails(empty_data_dir, local_server):
    verdict = preflight.check_corpus(url=local_server.url("/missing.txt"))  # the server answers 404
    assert verdict.status == FAIL and "download failed" in verdict.found and "HTTP 404" in verdict.found
    assert not empty_data_dir.exists() or list(empty_data_dir.iterdir()) == []  # nothing half-saved


def test_corpus_without_network_fails_naming_the_fix(empty_data_dir):
    with socket.socket() as s:  # a port nobody listens on: connection refused, as offline
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    verdict = preflight.check_corpus(url=f"http://127.0.0.1:{port}/input.txt")
    assert verdict.status == FAIL and "connect to the internet" in verdict.found
    assert "WORKSHOP_CORPUS" in verdict.found  # the other way: copy the file


@pytest.mark.parametrize(
    "device, free, status",
    [("cpu", 10 * 2**20, FAIL), ("cpu", 10 * 2**30, OK), ("cuda", 500 * 2**20, FAIL), ("cuda", 10 * 2**30, OK)],
)
def test_disk_space_for_a_days_checkpoints(monkeypatch, tmp_path, device, free, status):
    monkeypatch.setattr(preflight, "free_bytes", lambda path: free)
    verdict = preflight.check_disk(device, tmp_path)
    assert verdict.status == status, verdict
    preset = "workshop" if device == "cuda" else "laptop"
    assert f"a day's {preset} checkpoints need about" in verdict.found


def test_checkpoint_size_is_weights_and_two_adam_moments():
    assert preflight.checkpoint_bytes(10_770_816) == 12 * 10_770_816


@pytest.mark.parametrize("ram_gib, status", [(1, FAIL), (3, WARN), (16, OK)])
def test_memory(monkeypatch, ram_gib, status):
    monkeypatch.setattr(preflight, "memory_of", lambda device: (ram_gib * 2**30, "RAM"))
    assert preflight.check_memory("cpu").status == status


def test_memory_unknown_is_a_warning(monkeypatch):
    monkeypatch.setattr(preflight, "memory_of", lambda device: (None, "RAM"))
    assert preflight.check_memory("cpu").status == WARN


# ---- the speed probe and its prediction ----------------------------------------------------------
def test_prediction_is_steps_times_step_time_plus_evaluations():
    probe = Probe("laptop", "cpu", step_s=0.04, eval_s=1.0, tokens_per_s=51_200, steps_timed=200)
    assert probe.run_seconds(700, 175) == pytest.approx(700 * 0.04 + 5 * 1.0)  # evaluations at 0,175,...,700
    assert probe.run_seconds(700, 300) == pytest.approx(700 * 0.04 + 4 * 1.0)  # 0, 300, 600, and the end
    verdict = preflight.check_speed(probe, NO_TIMINGS)
    assert verdict.status == OK and "should take about 33s of training" in verdict.found


def test_a_slow_machine_is_sent_to_colab():
    probe = Probe("laptop", "cpu", step_s=1.0, eval_s=10.0, tokens_per_s=2048, steps_timed=8)
    verdict = preflight.check_speed(probe, NO_TIMINGS)
    assert verdict.status == WARN and "Colab" in verdict.fix


def test_a_busy_cpu_is_named_with_its_measured_cost():
    probe = Probe("laptop", "cpu", 0.5, 2.0, 4096, 10, threads=2, one_thread_step_s=0.05)
    verdict = preflight.check_speed(probe, NO_TIMINGS)
    assert verdict.status == WARN and "10.0× faster" in verdict.found and "OMP_NUM_THREADS=1" in verdict.fix


def test_a_gpu_probe_reports_its_memory():
    probe = Probe("workshop", "cuda", 0.03, 0.5, 500_000, 300, peak_gpu_bytes=3 * 2**30)
    verdict = preflight.check_speed(probe, NO_TIMINGS)
    assert verdict.status == OK and "3.0 GiB of GPU memory" in verdict.found and "--preset workshop" in verdict.found


def test_recorded_notebook_times_are_scaled_by_this_machines_speed(tmp_path):
    def entry(notebook, seconds, kind="cpu", preset="laptop", rate=40_000, mode="full"):
        return {
            "notebook": notebook,
            "seconds": seconds,
            "kind": kind,
            "mode": mode,
            "machine": "a 2-core VM",
            "probe_preset": preset,
            "probe_tokens_per_s": rate,
        }

    timings = tmp_path / "timings.json"
    runs = [
        entry("00_setup", 10.0),
        entry("05_training", 120.0),
        entry("05_training", 30.0, "gpu", "workshop"),
        entry("06_sampling", 5.0, mode="smoke"),
    ]
    timings.write_text(json.dumps({"runs": runs}))
    twice_as_fast = Probe("laptop", "cpu", step_s=0.02, eval_s=0.5, tokens_per_s=80_000, steps_timed=100)
    estimates = preflight.notebook_estimates(twice_as_fast, timings)
    assert {name: round(s, 6) for name, (s, _) in estimates.items()} == {"00_setup": 5.0, "05_training": 60.0}
    verdict = preflight.check_speed(twice_as_fast, timings)
    assert (
        "notebook 05 about 1m 00s and all 2 recorded notebooks about 1m 05s (recorded on a 2-core VM" in verdict.found
    )
    gpu = Probe("workshop", "cuda", step_s=0.03, eval_s=0.5, tokens_per_s=600_000, steps_timed=100)
    assert set(preflight.notebook_estimates(gpu, timings)) == {"05_training"}  # only the GPU's own record
    assert preflight.notebook_estimates(twice_as_fast, tmp_path / "missing.json") == {}


def test_the_probe_trains_for_real(corpus_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_CORPUS", str(corpus_path))
    probe = preflight.speed_probe("cpu", seconds=0.5, preset_name="smoke")
    assert probe.preset == "smoke" and probe.steps_timed >= 3
    assert probe.step_s > 0 and probe.eval_s > 0 and probe.tokens_per_s == pytest.approx(8 * 32 / probe.step_s)


def test_the_probe_runs_without_the_corpus(empty_data_dir):
    probe = preflight.speed_probe("cpu", seconds=0.2, preset_name="smoke")
    assert probe.steps_timed >= 3 and not empty_data_dir.exists()


# ---- the command -------------------------------------------------------------------------------
def test_exit_status_fails_only_on_a_failed_check():
    assert preflight.exit_status([Verdict("a", OK, ""), Verdict("b", WARN, "")]) == 0
    assert preflight.exit_status([Verdict("a", OK, ""), Verdict("b", FAIL, "")]) == 1


def test_doctor_prints_one_line_per_check_and_a_verdict(corpus_path, monkeypatch, capsys):
    monkeypatch.setenv("WORKSHOP_CORPUS", str(corpus_path))
    assert doctor_cli.main(["--quick", "--no-download"]) == 0
    out = capsys.readouterr().out
    for check in (
        "python",
        "torch",
        "gpu",
        "device",
        "compile",
        "mode",
        "plots",
        "widgets",
        "corpus",
        "disk",
        "memory",
    ):
        assert re.search(rf"^[✓!] {check}\b", out, re.M), check
    assert "Ready" in out.splitlines()[-1]


def test_doctor_exits_1_when_the_workshop_cannot_run(corpus_path, monkeypatch, capsys):
    monkeypatch.setenv("WORKSHOP_CORPUS", str(corpus_path))
    monkeypatch.setattr(preflight, "package_version", lambda name: None)  # no matplotlib, no ipywidgets
    assert doctor_cli.main(["--quick", "--no-download"]) == 1
    out = capsys.readouterr().out
    assert "✗ plots" in out and "Fix: pip install matplotlib." in out
    assert "cannot run here yet: fix plots" in out.splitlines()[-1]
