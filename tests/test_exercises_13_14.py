"""The exercise checkers of notebooks 13 and 14 accept their solutions and reject plausible wrong answers
with a hint (proof that belongs in tests, not in front of the learner)."""

from __future__ import annotations

import torch

from helpers.exercises import nb13, nb14
from helpers.multimodal import image_to_patches


def test_scratchpad_checker_accepts_the_solution_and_the_worked_example():
    assert nb13.check_times_digit_scratchpad(nb13.solution_times_digit_scratchpad)
    assert nb13.solution_times_digit_scratchpad(367, 4) == "7*4+0=28,6*4+2=26,3*4+2=14|1468."


def test_scratchpad_checker_rejects_wrong_answers(capsys):
    assert not nb13.check_times_digit_scratchpad(lambda a, d: f"{a * d:04d}.")  # the answer without its steps
    assert "Hint" in capsys.readouterr().out
    no_carry = lambda a, d: (
        ",".join(f"{a // 10**c % 10}*{d}+0={a // 10**c % 10 * d:02d}" for c in range(3)) + (f"|{a * d:04d}.")
    )
    assert not nb13.check_times_digit_scratchpad(no_carry)
    assert not nb13.check_times_digit_scratchpad(lambda a, d: None)  # the notebook's stub
    assert "returned None" in capsys.readouterr().out
    assert not nb13.check_times_digit_scratchpad(lambda a, d: 1 / 0)
    assert "ZeroDivisionError" in capsys.readouterr().out


def test_colour_patches_checker_accepts_the_solution_and_rejects_wrong_answers(capsys):
    assert nb14.check_colour_patches(nb14.solution_colour_patches)
    assert not nb14.check_colour_patches(lambda images, patch: image_to_patches(images.mean(1), patch))  # grey
    assert "shape" in capsys.readouterr().out
    channels_inside = lambda images, patch: (  # red, green, blue interleaved pixel by pixel: right shape, wrong order
        images.unfold(2, patch, patch)
        .unfold(3, patch, patch)
        .permute(0, 2, 3, 4, 5, 1)
        .reshape(images.size(0), -1, 3 * patch * patch)
    )
    assert not nb14.check_colour_patches(channels_inside)
    assert "numbers are not" in capsys.readouterr().out
    assert not nb14.check_colour_patches(lambda images, patch: None)
    assert not nb14.check_colour_patches(lambda images, patch: torch.zeros(1))
