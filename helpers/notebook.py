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
from .measured import recorded_runs
from .presets import get_preset, smoke_mode
from .pretrained import published_model
from .runs import drive_mounted, in_colab, run_dir
from .trainer import TrainConfig, Trainer

try:
    from IPython import get_ipython
except ImportError:  # plain Python: there is no notebook to register the one-line error display with
    get_ipython = None

__all__ = ["in_colab", "notebook_run_dir", "quick_model", "setup", "trained_model"]


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


QUICK_MINUTES = 2  # the longest a notebook opened alone waits for a model of its own


def trained_model(device: str | None = None, run=None):
    """`(model, tokenizer)` from notebook 05's best checkpoint; else the instructor's published one
    (`pretrained` in pyproject.toml, see helpers.pretrained); else a quick one (`quick_model`).

    Lets notebooks 06 onwards run on their own in a fresh Colab without a long wait. `run` is the run
    folder (default: notebook 05's, on this machine or, when Drive is already mounted, on Google Drive).
    """
    device = pick_device(device)
    candidates = [Path(run)] if run is not None else [notebook_run_dir()]
    if run is None and drive_mounted():
        candidates.append(notebook_run_dir(use_drive=True))
    for folder in candidates:
        if (folder / BEST).is_file():
            model, tokenizer = load_model(folder, device)
            print(
                f"Using notebook 05's model, {folder / BEST}: {model.num_params() / 1e6:.2f}M parameters on {device}."
            )
            return model, tokenizer
    if (published := published_model(device)) is not None:  # the instructor's, if pyproject.toml names one
        return published
    drive_hint = " (saved to Drive? trained_model(device, run=notebook_run_dir(use_drive=True)))" if in_colab() else ""
    print(f"No trained model from notebook 05 in {candidates[0]}{drive_hint}.")
    return quick_model(device)


def quick_model(device: str | None = None, minutes: float = QUICK_MINUTES):
    """A small model trained here for at most `minutes` (the `laptop` preset), kept in runs/quick and reused.

    Never the real thing: notebook 05 trains that. This is what a late arrival or a new runtime gets
    instead of a silent wait of many minutes.
    """
    device = pick_device(device)
    folder = run_dir("quick-smoke" if smoke_mode() else "quick")
    if not (folder / BEST).is_file():
        preset_name, preset = get_preset("smoke" if smoke_mode() else "laptop", device)
        print(
            f"Training a quick one for at most {minutes:g} minutes ('{preset_name}' preset: "
            f"{preset.summary()}); run notebook 05 for the real one."
        )
        for recorded in recorded_runs(preset=preset_name):
            print(f"    recorded: {recorded.summary()}")
        corpus = Corpus.load()
        # no torch.compile: compiling a run this short would cost more time than it saves
        cfg = TrainConfig(**preset.train, device=device, out_dir=str(folder), max_minutes=minutes, compile=False)
        model = preset.build_model(corpus.tokenizer.vocab_size, cfg.seed)  # same weights as helpers.train
        trainer = Trainer(model, corpus, cfg)
        trainer.fit()
        print(f"Stopped at step {trainer.step} of {cfg.max_iters}: {trainer.stopped_because}.")
    model, tokenizer = load_model(folder, device)
    print(
        f"Using a quick model, not notebook 05's: {folder / BEST}, {model.num_params() / 1e6:.2f}M parameters "
        f"on {device}. Run notebook 05 for the real one."
    )
    return model, tokenizer
