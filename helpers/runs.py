"""Run folders: where a run keeps its checkpoints and metrics, on Google Drive in Colab, and resuming.

    from helpers.runs import run_dir, resume_or_start
    cfg = TrainConfig(out_dir=str(run_dir("workshop", use_drive=True)))
    history = resume_or_start(Trainer(model, corpus, cfg)).fit()

Re-running those cells after a disconnect continues from the last checkpoint (every eval_interval
steps) instead of starting over. Outside Colab, `run_dir(name)` is simply `runs/<name>` in this checkout.
`preset_for_run` picks what a run trains with: a resumed `auto` run keeps the settings it started with.
Knows the folder layout and Colab's Drive; knows nothing of notebooks (helpers.notebook builds on this).
"""

from __future__ import annotations

import os
import sys
from dataclasses import fields, replace
from pathlib import Path

from . import checkpoint as ckpt
from .data import repo_root
from .errors import WorkshopError, require
from .presets import Preset, get_preset
from .trainer import TrainConfig

# Colab's folder. Unset in Colab; the Colab stand-in of tests/test_colab.py points it at an empty folder.
COLAB_CONTENT_ENV = "WORKSHOP_COLAB_CONTENT"
COLAB_CONTENT = Path(os.environ.get(COLAB_CONTENT_ENV) or "/content")
DRIVE_MOUNT_POINT = COLAB_CONTENT / "drive"
DRIVE_PROJECT_FOLDER = "gpt-from-scratch"


def in_colab() -> bool:
    return "google.colab" in sys.modules


def local_runs_folder() -> Path:
    """`runs/` in this checkout (or in the current folder when helpers is installed elsewhere)."""
    return (repo_root() or Path.cwd()) / "runs"


def drive_mounted() -> bool:
    """True in Colab once Google Drive is mounted (asking does not mount it: no pop-up)."""
    return in_colab() and (DRIVE_MOUNT_POINT / "MyDrive").is_dir()


def mount_drive() -> Path:
    """Mount Google Drive (Colab asks for permission once per session) and return My Drive."""
    my_drive = DRIVE_MOUNT_POINT / "MyDrive"
    if not my_drive.is_dir():
        from google.colab import drive

        try:
            drive.mount(str(DRIVE_MOUNT_POINT))
        except Exception as err:  # permission refused, or the mount timed out
            raise WorkshopError(
                f"Could not mount Google Drive ({type(err).__name__}: {err}). Fix: run the cell again and allow "
                "access in the pop-up, or use run_dir(name) without use_drive (the run is then lost on disconnect)."
            ) from None
    return my_drive


def run_dir(name: str, use_drive: bool = False) -> Path:
    """The folder run `name` keeps its checkpoints and metrics in (created if missing).

    Locally: <checkout>/runs/<name>. In Colab with use_drive=True:
    /content/drive/MyDrive/gpt-from-scratch/runs/<name>, which survives a disconnect.
    """
    require(
        isinstance(name, str) and name.strip() not in ("", ".", "..") and not any(c in name for c in "/\\:"),
        f"Run name {name!r} is not a plain folder name. Fix: use letters, digits, '-' or '_' (e.g. 'workshop').",
    )
    if use_drive:
        require(
            in_colab(),
            "use_drive=True works only in Google Colab (it mounts your Google Drive there). "
            "Fix: use run_dir(name) here; runs are kept under runs/ on this machine and survive a restart.",
        )
        base = mount_drive() / DRIVE_PROJECT_FOLDER / "runs"
    else:
        base = local_runs_folder()
    folder = base / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def resume_or_start(trainer):
    """Resume `trainer` from out_dir/last.safetensors when there is one, else start fresh; returns it.

    Say where it starts, so a re-run cell after a disconnect shows that nothing was lost.
    """
    require(
        trainer.out_dir is not None,
        "resume_or_start needs a run folder to look in. Fix: TrainConfig(out_dir=str(run_dir('workshop'))).",
    )
    last = trainer.out_dir / ckpt.LAST
    if last.is_file():
        trainer.resume(last)
        print(f"Resuming from {last} {trainer.resume_note()} Best val loss so far {trainer.best_val_loss:.4f}.")
    else:
        (trainer.out_dir / "metrics.jsonl").unlink(missing_ok=True)  # a stale log would mix two runs
        print(f"Starting fresh: no checkpoint in {trainer.out_dir} yet.")
    return trainer


# TrainConfig fields that describe the machine or the session, not the run: never taken from a checkpoint
SESSION_FIELDS = ("device", "precision", "compile", "out_dir", "progress", "max_minutes")


def preset_for_run(
    name: str, device: str, folder: str | os.PathLike, minutes: float | None = None, resume: bool = True, **changes
) -> tuple[str, Preset]:
    """The preset a run in `folder` trains with, and its name; its `train` holds `minutes` and `changes`
    (TrainConfig fields the user set explicitly), ready for `TrainConfig(**preset.train, ...)`.

    `auto` depends on the device and the budget, so resuming an `auto` run with a new budget would build
    another preset's model and optimizer: resumed (`resume` and a last checkpoint in `folder`), an `auto`
    run continues with the settings it started with, read from that checkpoint, and says so in one line.
    A named preset is taken as it is (Trainer.resume refuses one that disagrees with the run).
    """
    last = Path(folder) / ckpt.LAST
    if not (name == "auto" and resume and last.is_file()):
        resolved, preset = get_preset(name, device, minutes=minutes)
        return resolved, with_changes(preset, minutes=minutes, **changes)
    preset = with_changes(run_preset(last), minutes=minutes, **changes)
    print(f"resuming with the run's own settings: {preset.shape()}, {preset.settings()}, {preset.length()}")
    resolved = f"{Path(folder).name} (its own settings)"
    return resolved, preset


def run_preset(checkpoint: str | os.PathLike) -> Preset:
    """The model and training settings a checkpoint's run was started with, as a Preset (its header only).

    Checkpoints from before the optimizer was recorded trained with AdamW, TrainConfig's default."""
    header = ckpt.read_header(checkpoint)
    model = {k: v for k, v in header["config"].items() if k != "vocab_size"}
    saved = header.get("training", {}).get("train_config", {})
    known = {f.name for f in fields(TrainConfig)} - set(SESSION_FIELDS)
    return Preset(
        f"the settings {checkpoint} was trained with", model=model, train={k: v for k, v in saved.items() if k in known}
    )


def with_changes(preset: Preset, minutes: float | None = None, **changes) -> Preset:
    """`preset` with what the user set explicitly (None: not set) on top. A length replaces the other kind:
    `minutes` a run of steps, `max_iters` a time budget; a new peak learning rate takes its floor along
    (the same share of it)."""
    changes = {k: v for k, v in changes.items() if v is not None}
    train = dict(preset.train)
    if minutes is not None:
        train["budget_minutes"] = minutes
    if "max_iters" in changes:
        train.pop("budget_minutes", None)
    if "learning_rate" in changes and "min_lr" not in changes and "min_lr" in train:
        # the floor follows the peak unless it is set: the same share of it (a floor of zero stays zero)
        peak = train.get("learning_rate", TrainConfig.learning_rate)  # a preset may name its floor only
        train["min_lr"] = train["min_lr"] * changes["learning_rate"] / peak
    return replace(preset, train={**train, **changes})
