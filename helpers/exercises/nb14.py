"""Notebook 14 exercise: patches of a colour image, each holding its red, green and blue pixels."""

from __future__ import annotations

import torch

from . import attempt, report


def solution_colour_patches(images: torch.Tensor, patch: int) -> torch.Tensor:
    """(B, 3, H, W) → (B, H/patch · W/patch, 3 · patch²): patches in reading order; each vector holds
    the patch's red pixels row by row, then its green, then its blue."""
    B, C, H, W = images.shape
    grid = images.unfold(2, patch, patch).unfold(3, patch, patch)  # (B, C, H/p, W/p, p, p)
    return grid.permute(0, 2, 3, 1, 4, 5).reshape(B, (H // patch) * (W // patch), C * patch * patch)


def check_colour_patches(your_fn) -> bool:
    """Runs `your_fn(images, patch)` on a few colour images and compares with the right patches."""
    gen = torch.Generator().manual_seed(0)
    cases = [(torch.arange(3 * 4 * 8, dtype=torch.float32).view(1, 3, 4, 8), 2)]
    cases += [(torch.rand(2, 3, 16, 32, generator=gen), 4), (torch.rand(3, 3, 12, 12, generator=gen), 3)]
    for images, patch in cases:
        expected = solution_colour_patches(images, patch)
        shape = tuple(images.shape)
        answer, hint = attempt(
            your_fn, images.clone(), patch, where=f" for images of shape {shape}", returns="the patches"
        )
        if hint:
            return report(False, "", hint)
        if not isinstance(answer, torch.Tensor) or answer.shape != expected.shape:
            got = tuple(answer.shape) if isinstance(answer, torch.Tensor) else type(answer).__name__
            return report(
                False,
                "",
                f"for images of shape {shape} and patch={patch} the patches have shape {tuple(expected.shape)}, "
                f"yours {got}. Hint: (batch, number of patches, 3 × patch × patch).",
            )
        if not torch.equal(answer, expected):
            return report(
                False,
                "",
                f"for images of shape {shape} and patch={patch} the shape is right but the numbers are not. "
                "Hint: patches in reading order (top row first, left to right); inside a patch, all its red "
                "pixels row by row, then green, then blue. unfold twice, then permute the channel axis next "
                "to the pixel axes before reshaping.",
            )
    return report(True, "your colour patches match: a colour image is a sequence of vectors too.", "")
