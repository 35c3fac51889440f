"""The pre-flight check behind `python -m helpers.doctor`: will the workshop run on this machine?

What it knows: one check per line, each a plain function returning a `Verdict` (ok, warn or fail, what
was found, and the fix): Python and package versions against what the project needs (ipywidgets 8 in
Colab, MPS on an old PyTorch, a CUDA build without a GPU), the device and precision training will use
(helpers.device decides them, by compute capability), whether torch.compile works here or training
falls back to eager, the corpus (found, or downloaded now through helpers.download), free disk and
memory, and a speed probe: a few seconds of real training steps and one evaluation of the preset this
machine would train, timed, from which the run's time is predicted (steps × step time + evaluations ×
evaluation time). Everything it reads from the machine goes through small functions or helpers that
tests replace, so every verdict is tested with the environment faked.

What it does not know: how the lines look on a screen or the exit status (doctor.py), and it never
changes anything but the corpus it downloads when asked.
"""

from __future__ import annotations

import platform
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from .data import CORPUS_FILENAME, Corpus, default_data_dir, download_corpus, find_corpus
from .device import compile_supported, memory_of, pick_device, precision_for, torch_version
from .errors import WorkshopError
from .presets import get_preset, smoke_mode
from .runs import in_colab

OK, WARN, FAIL = "ok", "warn", "fail"

# What the project needs, as pyproject.toml says (tests/test_doctor.py checks that they agree).
MIN_PYTHON = (3, 10)
MIN_TORCH = (2, 11)
IPYWIDGETS_RANGE = ((7, 7), (9, 0))  # 7.7 (Colab's) up to, not including, 9
COLAB_IPYWIDGETS_MAJOR = 7  # Colab's notebook front end renders ipywidgets 7 without extra set-up

# Below these, training or the notebooks' kernels are likely to be killed for memory: the laptop run
# itself needs well under 1 GiB (benchmarks/RESULTS.md), Jupyter, the browser and the OS need the rest.
FAIL_BELOW_RAM = 2 * 2**30
WARN_BELOW_RAM = 4 * 2**30
RUNS_PER_WORKSHOP = 4  # run folders a workshop day writes (notebook 05's two runs, a fine-tune, a spare)


@dataclass(frozen=True)
class Verdict:
    check: str
    status: str  # ok | warn | fail
    found: str
    fix: str = ""


# ---- what is read from the machine (tests replace these) ---------------------------------------
def package_version(name: str) -> str | None:
    """The installed version of a distribution, or None when it is not installed."""
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def free_bytes(path: Path) -> int:
    """Free disk space where `path` is (or its nearest existing parent)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def version_tuple(version: str) -> tuple[int, ...]:
    """'2.11.0+cu126' → (2, 11, 0); '8.1.5rc1' → (8, 1, 5): the leading numbers of each part."""
    numbers = [re.match(r"\d*", part).group() for part in version.split("+")[0].split(".")[:3]]
    return tuple(int(n) for n in numbers if n)


def gib(n: float) -> str:
    """A size people read: '1.3 GiB', '39 MiB'."""
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


# ---- the checks --------------------------------------------------------------------------------
def check_python(version: tuple[int, ...] | None = None) -> Verdict:
    version = tuple(version or sys.version_info[:3])
    shown = ".".join(map(str, version))
    if version[:2] < MIN_PYTHON:
        need = ".".join(map(str, MIN_PYTHON))
        return Verdict("python", FAIL, f"Python {shown}", f"install Python {need} or newer (Colab has it).")
    return Verdict("python", OK, f"Python {shown}")


def check_torch() -> Verdict:
    version = torch.__version__
    if torch_version() < MIN_TORCH:
        need = ".".join(map(str, MIN_TORCH))
        return Verdict("torch", FAIL, f"PyTorch {version}", f"pip install -U 'torch>={need}'.")
    return Verdict("torch", OK, f"PyTorch {version}")


def check_gpu() -> Verdict:
    """A GPU that training will use, or why none: no GPU, a CUDA build without one, MPS on an old torch."""
    if torch.cuda.is_available():
        major, minor = torch.cuda.get_device_capability()
        return Verdict("gpu", OK, f"{torch.cuda.get_device_name(0)} (compute capability {major}.{minor})")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        from .device import MIN_TORCH_FOR_MPS

        if torch_version() < MIN_TORCH_FOR_MPS:
            need = ".".join(map(str, MIN_TORCH_FOR_MPS))
            return Verdict(
                "gpu",
                WARN,
                f"Apple GPU (MPS), but PyTorch {torch.__version__} has given wrong losses on it: training uses the CPU",
                f"pip install -U 'torch>={need}' to train on the Apple GPU.",
            )
        return Verdict("gpu", OK, "Apple GPU (MPS)")
    if torch.version.cuda is not None:  # a CUDA build of PyTorch, and no GPU to run it on
        fix = (
            "Runtime > Change runtime type > T4 GPU, then run this again."
            if in_colab()
            else "check the GPU driver (nvidia-smi), or go on: the laptop preset trains on the CPU."
        )
        return Verdict(
            "gpu",
            WARN,
            f"PyTorch built for CUDA {torch.version.cuda}, but no GPU is visible: training uses the CPU",
            fix,
        )
    return Verdict("gpu", OK, "none: the laptop preset trains on the CPU")


def check_device() -> tuple[Verdict, str]:
    """The device and precision training will use, decided as the Trainer decides them."""
    device = pick_device()
    precision = precision_for(device)
    why = {
        "fp16": "fp16 with a gradient scaler (a GPU before Ampere: compute capability below 8)",
        "bf16": "bf16 autocast" + (" (compute capability 8 or newer)" if device == "cuda" else " (CPU with bf16)"),
        "fp32": "fp32",
    }[precision]
    return Verdict("device", OK, f"{device}, {why}"), device


def check_compile(device: str, try_it: bool = True) -> Verdict:
    """Whether torch.compile will be used; where it should work, a tiny function is compiled to see."""
    ok, why_not = compile_supported(device)
    if not ok:
        return Verdict("compile", OK, f"off ({why_not}): eager mode")
    if not try_it:
        return Verdict("compile", OK, "on (not tried: --quick)")
    try:
        compiled = torch.compile(lambda x: torch.nn.functional.gelu(x) * 2)
        x = torch.randn(64, device=device)
        ok = torch.allclose(compiled(x), torch.nn.functional.gelu(x) * 2, atol=1e-5)
    except Exception as err:  # what the Trainer would meet: it falls back to eager, and so do we
        return Verdict(
            "compile",
            WARN,
            f"torch.compile failed here ({type(err).__name__}: {str(err).splitlines()[0][:120]}): "
            "training falls back to eager mode (slower, same results)",
            "nothing to do; to use it, update PyTorch and Triton (pip install -U torch).",
        )
    if not ok:
        return Verdict(
            "compile",
            WARN,
            "torch.compile gave a wrong result here: training should use eager mode",
            "train with --compile off (TrainConfig(compile=False)).",
        )
    return Verdict("compile", OK, "on: a compiled function ran and matched eager mode")


def check_widgets() -> Verdict:
    """ipywidgets for notebook 06's playgrounds: a version that works, and in Colab one it renders."""
    version = package_version("ipywidgets")
    low, high = IPYWIDGETS_RANGE
    wanted = f"'ipywidgets>={low[0]}.{low[1]},<{high[0]}'"
    if version is None:
        return Verdict(
            "widgets",
            WARN,
            "ipywidgets is not installed: notebook 06's playgrounds will not show",
            f"pip install {wanted}.",
        )
    v = version_tuple(version)
    if not (low <= v[:2] < high):
        return Verdict(
            "widgets",
            WARN,
            f"ipywidgets {version}: not a version the playgrounds are tested with",
            f"pip install {wanted}.",
        )
    if in_colab() and v[0] > COLAB_IPYWIDGETS_MAJOR:
        return Verdict(
            "widgets",
            WARN,
            f"ipywidgets {version} in Colab, which renders ipywidgets {COLAB_IPYWIDGETS_MAJOR} out of the box: "
            "the playgrounds may show as text",
            "pip install ipywidgets==7.7.1, then Runtime > Restart session (Colab's own version).",
        )
    return Verdict("widgets", OK, f"ipywidgets {version}")


def check_smoke_mode() -> Verdict:
    """WORKSHOP_SMOKE=1 left set (from running the tests) makes every notebook train for seconds only."""
    if smoke_mode():
        return Verdict(
            "mode",
            WARN,
            "WORKSHOP_SMOKE is set: notebooks run in smoke mode and train for seconds only (poor results)",
            "unset WORKSHOP_SMOKE (it is for tests), then restart Jupyter.",
        )
    return Verdict("mode", OK, "full mode (what the workshop runs)")


def check_plotting() -> Verdict:
    version = package_version("matplotlib")
    if version is None:
        return Verdict("plots", FAIL, "matplotlib is not installed: no loss plot", "pip install matplotlib.")
    return Verdict("plots", OK, f"matplotlib {version} (PNG images: no ipympl needed)")


def check_corpus(download: bool = True, url: str | None = None) -> Verdict:
    """The corpus found where training looks for it; if absent, downloaded now (checked, atomically)."""
    try:
        path = find_corpus(download=False)
        return Verdict("corpus", OK, f"{path} ({path.stat().st_size:,} bytes)")
    except WorkshopError as err:
        missing = str(err)
    dest = default_data_dir() / CORPUS_FILENAME
    if not download:
        return Verdict("corpus", WARN, f"not found: {missing}", "run without --no-download to fetch it now.")
    try:
        path = download_corpus(dest, url=url, timeout=15)
    except WorkshopError as err:
        return Verdict("corpus", FAIL, f"not found, and the download failed: {err}", "see above.")
    return Verdict("corpus", OK, f"downloaded to {path} ({path.stat().st_size:,} bytes, checksum verified)")


def checkpoint_bytes(num_params: int) -> int:
    """A training checkpoint: fp32 weights plus AdamW's two moments, 4 bytes each."""
    return 3 * 4 * num_params


def check_disk(device: str, where: Path | None = None) -> Verdict:
    """Room for the run folders of a day (best and last checkpoint each) of the preset this machine trains."""
    where = where or Path.cwd()
    name, preset = get_preset("auto", device)
    need = RUNS_PER_WORKSHOP * 2 * checkpoint_bytes(preset.num_params())
    free = free_bytes(where)
    found = f"{gib(free)} free in {where}; a day's {name} checkpoints need about {gib(need)}"
    if free < need:
        return Verdict("disk", FAIL, found, "free some disk space (or run in Colab).")
    return Verdict("disk", OK, found)


def check_memory(device: str) -> Verdict:
    ram, _ = memory_of("cpu")
    if ram is None:
        return Verdict("memory", WARN, "the system does not say how much RAM there is")
    found = f"{gib(ram)} RAM"
    if device == "cuda":
        gpu_bytes, gpu_name = memory_of("cuda")
        found += f", {gib(gpu_bytes)} on the {gpu_name}"
    if ram < FAIL_BELOW_RAM:
        return Verdict("memory", FAIL, found, "close other programs, or use Colab.")
    if ram < WARN_BELOW_RAM:
        return Verdict("memory", WARN, found, "close the browser tabs and programs you do not need during training.")
    return Verdict("memory", OK, found)


# ---- the speed probe ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Probe:
    preset: str
    device: str
    step_s: float  # seconds per training step (after warm-up)
    eval_s: float  # seconds per evaluation
    tokens_per_s: float
    steps_timed: int
    peak_gpu_bytes: int | None = None
    threads: int = 1  # PyTorch's CPU threads during the probe
    one_thread_step_s: float | None = None  # the same steps on one thread (CPU only, when threads > 1)

    def run_seconds(self, max_iters: int, eval_interval: int) -> float:
        """The run's training time: its steps, and its evaluations (one at step 0 and one at the end)."""
        evaluations = max_iters // eval_interval + 1 + (max_iters % eval_interval != 0)
        return max_iters * self.step_s + evaluations * self.eval_s


def probe_corpus() -> Corpus:
    """The real corpus if it is here, else random text of the same alphabet size (speed is the same)."""
    try:
        return Corpus.load(find_corpus(download=False))
    except WorkshopError:
        g = torch.Generator().manual_seed(0)
        alphabet = [chr(c) for c in range(32, 97)]  # 65 characters, like tiny Shakespeare
        ids = torch.randint(len(alphabet), (300_000,), generator=g).tolist()
        return Corpus.load(text="".join(alphabet[i] for i in ids))


def speed_probe(device: str, seconds: float = 10.0, preset_name: str = "auto", clock=time.perf_counter) -> Probe:
    """Train the preset this machine would train for about `seconds`, in eager mode, and time it."""
    from .trainer import TrainConfig, Trainer

    name, preset = get_preset(preset_name, device)
    corpus = probe_corpus()
    cfg = TrainConfig(**{**preset.train, "progress": False, "compile": False, "device": device})
    model = preset.build_model(corpus.tokenizer.vocab_size, cfg.seed)
    trainer = Trainer(model, corpus, cfg)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    for _ in range(2):  # warm-up: allocations, kernel selection
        trainer.train_step()
    _sync(device)
    began, steps = clock(), 0
    while steps < cfg.max_iters and (steps < 3 or clock() - began < 0.8 * seconds):
        trainer.train_step()
        steps += 1
        if steps % 5 == 0:
            _sync(device)
    _sync(device)
    step_s = (clock() - began) / steps
    one_thread = _one_thread_step_s(trainer, min(steps, 5), clock) if device == "cpu" else None
    began = clock()
    trainer.estimate_loss()
    _sync(device)
    eval_s = clock() - began
    tokens = cfg.batch_size * model.config.block_size
    peak = torch.cuda.max_memory_allocated() if device == "cuda" else None
    return Probe(name, device, step_s, eval_s, tokens / step_s, steps, peak, torch.get_num_threads(), one_thread)


def _one_thread_step_s(trainer, steps: int, clock) -> float | None:
    """Seconds per step on one thread: on a busy CPU, PyTorch's threads wait on each other at every
    operation, and one thread can be many times faster (benchmarks/RESULTS.md)."""
    threads = torch.get_num_threads()
    if threads == 1:
        return None
    torch.set_num_threads(1)
    try:
        trainer.train_step()
        began = clock()
        for _ in range(steps):
            trainer.train_step()
        return (clock() - began) / steps
    finally:
        torch.set_num_threads(threads)


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()
    elif device == "mps":
        torch.mps.synchronize()


TIMINGS_FILE = Path(__file__).resolve().parents[1] / "docs" / "timings.json"


def notebook_estimates(probe: Probe, path: Path = TIMINGS_FILE) -> dict[str, tuple[float, dict]]:
    """Each notebook's recorded full-mode time (tools/time_notebooks.py) scaled to this machine's speed:
    recorded seconds × recorded probe rate / this probe's rate. Only runs that probed the same preset count
    (a CPU record says nothing about a GPU). {notebook: (estimated seconds, the record it comes from)}."""
    import json

    if not path.is_file():
        return {}
    runs = json.loads(path.read_text(encoding="utf-8")).get("runs", [])
    return {
        r["notebook"]: (r["seconds"] * r["probe_tokens_per_s"] / probe.tokens_per_s, r)
        for r in runs
        if r.get("mode") == "full" and r.get("probe_preset") == probe.preset and r.get("probe_tokens_per_s")
    }


def check_speed(probe: Probe, timings: Path = TIMINGS_FILE) -> Verdict:
    """The predicted time of this machine's preset run (notebook 05's main run) and, where a run was
    recorded, of notebook 05 and of all notebooks together."""
    from .live import format_duration, format_rate

    _, preset = get_preset(probe.preset)
    cfg = preset.train
    run_s = probe.run_seconds(cfg["max_iters"], cfg["eval_interval"])
    found = (
        f"{format_rate(probe.tokens_per_s)} on the {probe.preset} preset ({probe.device}, eager, "
        f"{probe.steps_timed} steps timed): its run (python -m helpers.train --preset {probe.preset}) "
        f"should take about {format_duration(run_s)} of training"
    )
    estimates = notebook_estimates(probe, timings)
    training = next((name for name in estimates if name.startswith("05_")), None)
    if training is not None:
        seconds, record = estimates[training]
        found += (
            f"; notebook 05 about {format_duration(seconds)} and all {len(estimates)} recorded notebooks about "
            f"{format_duration(sum(s for s, _ in estimates.values()))} (recorded on {record['machine']}, "
            "scaled by speed)"
        )
    if probe.peak_gpu_bytes:
        found += f", {gib(probe.peak_gpu_bytes)} of GPU memory"
    if probe.one_thread_step_s is not None and probe.one_thread_step_s * BUSY_SPEEDUP < probe.step_s:
        faster = probe.step_s / probe.one_thread_step_s
        return Verdict(
            "speed",
            WARN,
            f"{found}; on 1 thread instead of {probe.threads} it runs {faster:.1f}× faster: the CPU is busy "
            "and PyTorch's threads wait on each other",
            "close other programs while training, or start Jupyter with OMP_NUM_THREADS=1.",
        )
    if probe.preset == "laptop" and run_s > SLOW_LAPTOP_RUN_S:
        return Verdict("speed", WARN, found, "this machine is slow for the live session: use Colab's free T4 GPU.")
    return Verdict("speed", OK, found)


BUSY_SPEEDUP = 1.5  # one thread this much faster than several: the CPU is shared with other work
SLOW_LAPTOP_RUN_S = 5 * 60  # notebook 05's main run longer than this would keep a room waiting


# ---- all of it ---------------------------------------------------------------------------------
def run_checks(download: bool = True, probe_seconds: float | None = 10.0, try_compile: bool = True):
    """Every check, in order; yields each Verdict as soon as it is known (the probe takes seconds)."""
    yield Verdict("machine", OK, f"{platform.system()} {platform.machine()}, {_cpu_count()} CPU threads")
    yield check_python()
    yield check_torch()
    yield check_gpu()
    device_verdict, device = check_device()
    yield device_verdict
    yield check_compile(device, try_it=try_compile)
    yield check_smoke_mode()
    yield check_plotting()
    yield check_widgets()
    yield check_corpus(download=download)
    yield check_disk(device)
    yield check_memory(device)
    if probe_seconds:
        try:
            yield check_speed(speed_probe(device, probe_seconds))
        except WorkshopError as err:
            yield Verdict("speed", FAIL, f"the probe could not train: {err}", "see above.")


def _cpu_count() -> int:
    import os

    return os.cpu_count() or 1


def exit_status(verdicts) -> int:
    """0 when the workshop can run here (warnings allowed), 1 when a check failed."""
    return 1 if any(v.status == FAIL for v in verdicts) else 0


__all__ = ["OK", "WARN", "FAIL", "Verdict", "Probe", "run_checks", "exit_status", "speed_probe"]
