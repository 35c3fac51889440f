"""What every notebook's setup cell calls after it has made `helpers` importable.

`setup()` prints the machine (device, GPU, precision, versions), makes `WorkshopError`s show as
one clear line instead of a traceback, and tells whether smoke mode (WORKSHOP_SMOKE=1) is on.
"""

from __future__ import annotations

import sys

from .device import describe, pick_device
from .errors import WorkshopError
from .presets import smoke_mode


def in_colab() -> bool:
    return "google.colab" in sys.modules


def _show_workshop_error(shell, etype, value, tb, tb_offset=None):
    print(f"⚠️  {value}", file=sys.stderr)
    return None


def setup(seed: int | None = 1337) -> str:
    """Pick the device, print what this machine is, and return the device name."""
    import torch

    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            shell.set_custom_exc((WorkshopError,), _show_workshop_error)
    except ImportError:
        pass
    if seed is not None:
        torch.manual_seed(seed)
    device = pick_device()
    info = describe(device)
    print(" | ".join(f"{k}: {v}" for k, v in info.items()))
    if smoke_mode():
        print("WORKSHOP_SMOKE=1: smoke mode, training cells run for seconds (results will be poor).")
    return device
