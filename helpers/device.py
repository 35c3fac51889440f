"""Which device to train on, in which precision, and whether torch.compile can be trusted there."""

from __future__ import annotations

import contextlib
import os
import platform
import sys
import warnings

import torch

from .errors import require

# MPS gave wrong or unstable losses on older PyTorch releases; below this we train on the CPU.
MIN_TORCH_FOR_MPS = (2, 4)
PRECISIONS = ("fp32", "bf16", "fp16")


def torch_version() -> tuple[int, int]:
    major, minor = torch.__version__.split("+")[0].split(".")[:2]
    return int(major), int(minor)


def mps_usable() -> bool:
    """True when Apple's GPU is present *and* this PyTorch is new enough to trust on it."""
    available = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if available and torch_version() < MIN_TORCH_FOR_MPS:
        warnings.warn(
            f"Apple GPU (MPS) found, but PyTorch {torch.__version__} has given wrong losses on it; "
            f"using the CPU. Fix: pip install -U 'torch>={'.'.join(map(str, MIN_TORCH_FOR_MPS))}'.",
            stacklevel=2,
        )
        return False
    return available


def pick_device(preference: str | None = None) -> str:
    """'cuda' if there is an NVIDIA GPU, else 'mps' (Apple), else 'cpu'; or the one you ask for."""
    if preference in (None, "", "auto"):
        if torch.cuda.is_available():
            return "cuda"
        return "mps" if mps_usable() else "cpu"
    require(preference in ("cpu", "cuda", "mps"), f"device must be auto, cpu, cuda or mps, not {preference!r}.")
    require(
        preference != "cuda" or torch.cuda.is_available(),
        "device='cuda' asked for, but no CUDA GPU is visible. Fix: use --device auto (or cpu).",
    )
    require(
        preference != "mps" or mps_usable(),
        "device='mps' asked for, but Apple's GPU is not usable here. Fix: use --device auto (or cpu).",
    )
    return preference


def cpu_has_fast_bf16() -> bool:
    """True on x86 CPUs with AVX-512 BF16 or AMX instructions, where bf16 matmuls beat fp32.

    Elsewhere (most laptops, Apple silicon's CPU cores) bf16 on the CPU is emulated and slower.
    """
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def precision_for(device: str) -> str:
    """fp16 (+ GradScaler) on CUDA cards before Ampere (T4, V100), bf16 from Ampere on and on CPUs
    with bf16 instructions (measured: benchmarks/RESULTS.md), fp32 elsewhere.

    Not `torch.cuda.is_bf16_supported()`: with its default arguments it answers True on a T4,
    where bf16 runs through slow emulation. Compute capability is the honest test.
    """
    if device == "cpu":
        return "bf16" if cpu_has_fast_bf16() else "fp32"
    if device != "cuda":
        return "fp32"
    major, _ = torch.cuda.get_device_capability()
    return "bf16" if major >= 8 else "fp16"


def autocast(device: str, precision: str):
    """The autocast context for mixed precision, or a no-op context for fp32."""
    require(precision in PRECISIONS, f"precision must be one of {PRECISIONS}, not {precision!r}.")
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device, dtype=dtype)


def fused_adamw_supported(device: str) -> bool:
    """AdamW's fused kernel: on CUDA, and on the CPU from PyTorch 2.4 (measured there: ~3× faster step)."""
    return device == "cuda" or (device == "cpu" and torch_version() >= (2, 4))


def use_tf32_matmuls(device: str) -> None:
    """On Ampere and newer, let fp32 matmuls use TF32 tensor cores (nanoGPT does the same).

    Under bf16 autocast little stays fp32, so this matters most for fp32 runs (precision='fp32').
    """
    if device == "cuda" and torch.cuda.get_device_capability()[0] >= 8:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def compile_supported(device: str) -> tuple[bool, str]:
    """Whether torch.compile is worth trying here, and why not when it is not."""
    if sys.platform == "win32":
        return False, "torch.compile is not supported on Windows"
    if device != "cuda":
        return False, f"on {device} the compile time outweighs the gain for runs this short"
    if torch.cuda.get_device_capability()[0] < 7:
        return False, "Triton needs a GPU of compute capability 7.0 or newer"
    return True, ""


def describe(device: str) -> dict:
    """What a notebook's first cell shows: the machine, the device, the precision, the versions."""
    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": device,
        "precision": precision_for(device),
        "cpu_threads": torch.get_num_threads(),
    }
    if device == "cuda":
        props = torch.cuda.get_device_properties(0)
        info["gpu"] = props.name
        info["gpu_memory_gb"] = round(props.total_memory / 2**30, 1)
        info["compute_capability"] = f"{props.major}.{props.minor}"
    return info


def system_memory_bytes() -> int | None:
    """The machine's RAM: sysconf on Linux and macOS, GlobalMemoryStatusEx on Windows (which has no
    os.sysconf). None where the system does not say."""
    if sys.platform == "win32":
        return _windows_memory_bytes()
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def _windows_memory_bytes() -> int | None:
    import ctypes

    class MemoryStatus(ctypes.Structure):  # MEMORYSTATUSEX
        _fields_ = [("dwLength", ctypes.c_ulong), ("dwMemoryLoad", ctypes.c_ulong)] + [
            (name, ctypes.c_ulonglong)
            for name in ("total", "avail", "page_total", "page_avail", "virt_total", "virt_avail", "ext_avail")
        ]

    status = MemoryStatus()
    status.dwLength = ctypes.sizeof(MemoryStatus)
    if not ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):
        return None
    return int(status.total)


def memory_of(device: str) -> tuple[int | None, str]:
    """How much memory a model on `device` has, and what that memory is: the GPU's own on CUDA, the
    machine's RAM elsewhere (Apple's GPU shares it). The size is None where the system does not say."""
    if device == "cuda":
        return torch.cuda.get_device_properties(0).total_memory, torch.cuda.get_device_name(0)
    return system_memory_bytes(), "this machine's RAM"
