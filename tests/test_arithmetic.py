"""Addition as text (notebook 13): the formats, the scratchpad's arithmetic, the loss mask, the grading."""

from __future__ import annotations

import random
import re
from pathlib import Path

import nbformat
import pytest
import torch

from helpers import WorkshopError
from helpers.arithmetic import (
    END,
    FORMATS,
    PAD,
    TOKENIZER,
    AdditionTask,
    answer_sources,
    arithmetic_model,
    ask,
    encode_batch,
    exact_match,
    exact_match_fast,
    grade,
    held_out_problems,
    sample_problems,
    scratchpad_steps,
    write_completions,
)
from helpers.completions import IGNORE

STEP = re.compile(r"(\d)\+(\d)\+(\d)=(\d\d)")


def test_the_formats_of_one_sum():
    assert AdditionTask("plain").text(367, 485) == "367+485=0852."
    assert AdditionTask("reversed").text(367, 485) == "367+485=2580."
    assert AdditionTask("scratchpad").text(367, 485) == "367+485=7+5+0=12,6+8+1=15,3+4+1=08|0852."
    assert AdditionTask("plain", pad_operands=False, pad_answer=False).text(67, 5) == "67+5=72."
    assert AdditionTask("reversed", pad_operands=False, pad_answer=False).text(67, 5) == "67+5=27."
    assert AdditionTask("plain", pad_answer=False).text(67, 5) == "067+005=72."
    assert AdditionTask("reversed", reverse_operands=True).text(367, 485) == "763+584=2580."
    assert AdditionTask("compact").text(367, 485) == "367+485=12,15,08|0852."


def test_compact_steps_really_add_up():
    """Each step is one column's two-digit sum, the carry in included: its tens digit is the carry out,
    its units digit the answer digit. Redo every column with Python's integers."""
    rng = random.Random(2)
    for _ in range(3000):
        n = rng.randint(1, 8)
        a, b = rng.randrange(10**n), rng.randrange(10**n)
        pad = rng.random() < 0.5
        completion = AdditionTask("compact", n, pad_operands=pad, pad_answer=pad).completion(a, b)
        steps_text, answer = completion[:-1].split("|")
        assert completion.endswith(END) and int(answer) == a + b
        sums = steps_text.split(",")
        assert all(re.fullmatch(r"\d\d", s) for s in sums) and len(sums) == (n if pad else len(str(max(a, b))))
        carry, total = 0, 0
        for column, column_sum in enumerate(map(int, sums)):
            assert column_sum == a // 10**column % 10 + b // 10**column % 10 + carry, (a, b, column)
            total += column_sum % 10 * 10**column
            carry = column_sum // 10
        assert total + carry * 10 ** len(sums) == a + b, (a, b, completion)


@pytest.mark.parametrize("pad", [True, False])
def test_scratchpad_steps_really_add_up(pad):
    """Read every step back out of the written text and redo it with Python's integers."""
    rng = random.Random(0)
    for _ in range(3000):
        n = rng.randint(1, 8)
        a, b = rng.randrange(10**n), rng.randrange(10**n)
        task = AdditionTask("scratchpad", n, pad_operands=pad, pad_answer=pad)
        completion = task.completion(a, b)
        steps_text, answer = completion[:-1].split("|")
        assert completion.endswith(END) and int(answer) == a + b
        steps = [tuple(map(int, STEP.fullmatch(s).groups())) for s in steps_text.split(",")]
        carry, total = 0, 0
        for column, (da, db, carry_in, column_sum) in enumerate(steps):
            assert (da, db) == (a // 10**column % 10, b // 10**column % 10), (a, b, column)
            assert carry_in == carry and column_sum == da + db + carry_in
            total += column_sum % 10 * 10**column
            carry = column_sum // 10
        assert total + carry * 10 ** len(steps) == a + b, (a, b, completion)
        assert steps == scratchpad_steps(a, b, len(steps))


def test_reversed_is_plain_backwards_and_padding_lines_digits_up():
    rng = random.Random(1)
    for _ in range(500):
        a, b = rng.randrange(1000), rng.randrange(1000)
        plain, backwards = AdditionTask("plain").answer(a, b), AdditionTask("reversed").answer(a, b)
        assert backwards == plain[::-1] and len(plain) == 4
    lengths = {len(AdditionTask(f).text(a, b)) for f in FORMATS for a, b in [(0, 0), (999, 999), (5, 120)] if f}
    for steps in ("scratchpad", "compact"):
        assert len({len(AdditionTask(steps).text(a, b)) for a, b in [(0, 0), (999, 999), (5, 120)]}) == 1
    assert lengths == {13, 22, 40}  # plain and reversed, compact, scratchpad


def test_loss_covers_the_completion_only():
    task = AdditionTask("plain", pad_operands=False, pad_answer=False)
    x, y = encode_batch(task, [(367, 485), (1, 2)])
    assert TOKENIZER.decode(x[0]) == "367+485=852"
    # "367+485=" is the prompt: the first target that counts is the first answer digit, read at "="
    assert y[0].tolist() == [IGNORE] * 7 + TOKENIZER.encode("852.")
    assert TOKENIZER.decode(x[1]) == "1+2=3." + PAD * 5
    assert y[1].tolist() == [IGNORE] * 3 + TOKENIZER.encode("3.") + [IGNORE] * 6  # padding never counts


@pytest.mark.parametrize("fmt", FORMATS)
def test_grading_is_exact(fmt):
    task = AdditionTask(fmt)
    right = task.completion(367, 485)
    assert grade(task, 367, 485, right)
    assert grade(task, 367, 485, right + "0852.")  # what follows the end marker is never read
    wrong_digit = right[:-2] + str((int(right[-2]) + 1) % 10) + END
    assert not grade(task, 367, 485, wrong_digit)
    assert not grade(task, 367, 485, right[:-1])  # no end marker
    assert not grade(task, 367, 485, right[:-1] + "3" + END)  # one digit too many
    assert not grade(task, 367, 485, right[:-2] + END)  # one digit too few
    assert not grade(task, 367, 485, "")


def test_training_problems_never_touch_the_held_out_set():
    test = held_out_problems(2, 1000, seed=0)
    assert len(set(test)) == 1000
    gen = torch.Generator().manual_seed(0)
    train = sample_problems(20000, 2, gen, exclude=set(test))
    assert len(train) == 20000 and not set(train) & set(test)
    assert all(0 <= a < 100 and 0 <= b < 100 for a, b in train)


@pytest.mark.parametrize(
    "a, b, problem",
    [
        (1234, 5, "has 4 digits"),
        (5, 10**3, "has 4 digits"),
        (-1, 5, "whole numbers"),
        (2.5, 5, "whole numbers"),
        (True, 5, "whole numbers"),
        ("12", 5, "whole numbers"),
    ],
)
def test_bad_operands_get_a_clear_message(a, b, problem):
    with pytest.raises(WorkshopError, match=problem) as err:
        AdditionTask("scratchpad", 3).prompt(a, b)
    assert "Fix" in str(err.value)


def test_digits_beyond_the_trained_length_are_refused_until_asked_for():
    task = AdditionTask("plain", 3)
    model = arithmetic_model(task, n_layer=1, n_embd=16, n_head=2, extra_digits=1)
    with pytest.raises(WorkshopError, match=r"at most 3.*with_digits\(4\)"):
        ask(model, task, 1234, 5678)
    assert isinstance(ask(model, task.with_digits(4), 1234, 5678), str)  # room for one more digit: it answers
    with pytest.raises(WorkshopError, match="block_size"):
        ask(model, task.with_digits(6), 123456, 1)  # no room for that many positions


def test_bad_task_settings():
    with pytest.raises(WorkshopError, match="format"):
        AdditionTask("backwards")
    with pytest.raises(WorkshopError, match="n_digits"):
        AdditionTask("plain", 0)


class Oracle(torch.nn.Module):
    """A stand-in model that writes right answers except for sums divisible by 3, where it gets the
    last answer digit wrong. Its top choice depends on the text it has been fed, as a model's does."""

    def __init__(self, task):
        super().__init__()
        self.task = task
        self.config = arithmetic_model(task, n_layer=1, n_embd=8, n_head=1).config
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, idx, targets=None):
        logits = torch.zeros(*idx.shape, TOKENIZER.vocab_size)
        for row, ids in enumerate(idx.tolist()):
            text = TOKENIZER.decode(ids)
            prompt = text[: text.index("=") + 1]
            a, b = (int(s) for s in prompt[:-1].split("+"))
            right = self.task.text(a, b)
            if (a + b) % 3 == 0:  # the digit before the end marker is wrong
                last = right[-2]
                right = right[:-2] + str((int(last) + 1) % 10) + END
            for t in range(len(text)):
                good_so_far = text[: t + 1] == right[: t + 1]
                next_char = right[t + 1] if good_so_far and t + 1 < len(right) else END
                logits[row, t, TOKENIZER.stoi[next_char]] = 1.0
        return logits, None


@pytest.mark.parametrize("fmt", FORMATS)
def test_one_pass_grading_equals_greedy_writing(fmt):
    task = AdditionTask(fmt, 2)
    problems = held_out_problems(2, 60, seed=3)
    oracle = Oracle(task)
    expected = sum((a + b) % 3 != 0 for a, b in problems) / len(problems)
    assert exact_match(oracle, task, problems) == pytest.approx(expected)
    assert exact_match_fast(oracle, task, problems) == pytest.approx(expected)
    written = write_completions(oracle, task, problems[:5])
    assert [grade(task, a, b, w) for (a, b), w in zip(problems[:5], written)] == [
        (a + b) % 3 != 0 for a, b in problems[:5]
    ]


@pytest.mark.parametrize("fmt", ["scratchpad", "compact"])
def test_answer_sources_point_at_the_digits_the_answer_copies(fmt):
    task = AdditionTask(fmt)
    for a, b in [(367, 485), (999, 1), (0, 0), (505, 505)]:
        text = task.text(a, b)
        for writer, source in answer_sources(task, a, b):
            assert text[writer + 1] == text[source], (text, writer, source)
            assert text.index("|") < writer + 1 and source < text.index("|")


def test_answer_sources_need_a_format_with_steps():
    with pytest.raises(WorkshopError, match="answer_sources needs a format with steps"):
        answer_sources(AdditionTask("plain"), 367, 485)


def test_the_benchmarks_line_for_notebook_13_has_its_settings():
    """benchmarks/arithmetic_formats.py says which command repeats notebook 13: it must not drift from it."""
    root = Path(__file__).resolve().parents[1]
    notebook = nbformat.read(root / "notebooks" / "13_reasoning_tokens.ipynb", as_version=4)
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    patterns = {"digits": r"^N_DIGITS = (\d+)", "batch": r"^BATCH = (\d+)", "seconds": r"^SECONDS = .* else (\d+)"}
    settings = {flag: re.search(pattern, code, re.MULTILINE).group(1) for flag, pattern in patterns.items()}
    bench = (root / "benchmarks" / "arithmetic_formats.py").read_text(encoding="utf-8")
    line = next(line for line in bench.splitlines() if "notebook 13's set-up" in line)
    for flag, value in settings.items():
        assert f"--{flag} {value} " in line, (flag, value, line)
    assert "--cpu-clock" in line  # the notebook counts CPU time on a CPU
