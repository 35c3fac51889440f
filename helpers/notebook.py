"""What the notebooks call: the setup cell's `setup()`, and `trained_model()` for notebooks 06 onwards.

`setup()` prints the machine (device, GPU, precision, versions), makes `WorkshopError`s show as
one clear line instead of a traceback, and tells whether smoke mode (WORKSHOP_SMOKE=1) is on.
Run folders, Google Drive and resuming live in helpers.runs; this module only uses them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from .checkpoint import BEST, load_model
from .data import Corpus
from .device import describe, pick_device
from .errors import WorkshopError
from .presets import get_preset, smoke_mode
from .pretrained import published_model
from .runs import in_colab, run_dir
from .trainer import TrainConfig, Trainer

try:
    from IPython import get_ipython
except ImportError:  # plain Python: there is no notebook to register the one-line error display with
    get_ipython = None

__all__ = ["in_colab", "notebook_run_dir", "setup", "trained_model"]


def _show_workshop_error(shell, etype, value, tb, tb_offset=None):
    print(f"⚠️  {value}", file=sys.stderr)
    return None


def setup(seed: int | None = 1337) -> str:
    """Pick the device, print what this machine is, and return the device name."""
    shell = get_ipython() if get_ipython is not None else None
    if shell is not None:
        shell.set_custom_exc((WorkshopError,), _show_workshop_error)
    if seed is not None:
        torch.manual_seed(seed)
    device = pick_device()
    info = describe(device)
    print(" | ".join(f"{k}: {v}" for k, v in info.items()))
    if smoke_mode():
        print("WORKSHOP_SMOKE=1: smoke mode, training cells run for seconds (results will be poor).")
    return device


def notebook_run_dir(use_drive: bool = False) -> Path:
    """Where notebook 05 keeps its run: runs/notebook (runs/notebook-smoke in smoke mode, so that CI's
    seconds-long model never stands in for the real one when you open the notebooks afterwards).

    use_drive=True (Colab only) puts it on Google Drive, where it survives a disconnect.
    """
    return run_dir("notebook-smoke" if smoke_mode() else "notebook", use_drive=use_drive)


def trained_model(device: str | None = None, run=None):
    """`(model, tokenizer)` from notebook 05's best checkpoint; else the instructor's published one
    (`pretrained` in pyproject.toml, see helpers.pretrained); else trains one first (progress shown).

    Lets notebooks 06 onwards run on their own in a fresh Colab. `run` is the run folder (default:
    `notebook_run_dir()`); pass `notebook_run_dir(use_drive=True)` if notebook 05 saved to Drive.
    """
    device = pick_device(device)
    run = Path(run) if run is not None else notebook_run_dir()
    if not (run / BEST).is_file():
        if (published := published_model(device)) is not None:  # the instructor's, if pyproject.toml names one
            return published
        preset_name, preset = get_preset("smoke" if smoke_mode() else "auto", device)
        print(f"No trained model in {run}: training one with the '{preset_name}' preset first.")
        corpus = Corpus.load()
        cfg = TrainConfig(**preset.train, device=device, out_dir=str(run))
        model = preset.build_model(corpus.tokenizer.vocab_size, cfg.seed)  # same weights as helpers.train
        Trainer(model, corpus, cfg).fit()
    model, tokenizer = load_model(run, device)
    print(f"Loaded {run / BEST}: {model.num_params() / 1e6:.2f}M parameters on {device}.")
    return model, tokenizer
