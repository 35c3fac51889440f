"""`drive.mount`: Google Drive appears at the mount point as `MyDrive`, here a folder the test owns.

$COLAB_STANDIN_DRIVE names that folder; it outlives the runtime, as a real Drive outlives a disconnect.
"""

from __future__ import annotations

import os
from pathlib import Path


def mount(mountpoint: str, force_remount: bool = False, timeout_ms: int = 120000, readonly: bool = False) -> None:
    drive = os.environ.get("COLAB_STANDIN_DRIVE")
    if not drive:
        raise ValueError("mount failed: the stand-in has no Drive (set COLAB_STANDIN_DRIVE to a folder)")
    point = Path(mountpoint)
    my_drive = point / "MyDrive"
    if my_drive.is_dir() and not force_remount:
        print(
            f"Drive already mounted at {mountpoint}; to attempt to forcibly remount, call "
            f'drive.mount("{mountpoint}", force_remount=True).'
        )
        return
    if point.exists() and any(point.iterdir()) and not force_remount:
        raise ValueError("Mountpoint must not already contain files")
    point.mkdir(parents=True, exist_ok=True)
    if my_drive.is_symlink():
        my_drive.unlink()
    Path(drive).mkdir(parents=True, exist_ok=True)
    my_drive.symlink_to(Path(drive).resolve(), target_is_directory=True)
    print(f"Mounted at {mountpoint}")


def flush_and_unmount(timeout_ms: int = 86400000) -> None:
    """Nothing to flush: the stand-in's Drive is a local folder."""
