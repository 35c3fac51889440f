"""Multi-digit addition written as text in four formats: the data and the grading of notebook 13.

What it knows: how to write `a + b` as a prompt and the completion a model should write in each
format (for 3-digit operands, zero-padded):

    plain       367+485=0852.
    reversed    367+485=2580.                                  (the answer, last digit first)
    scratchpad  367+485=7+5+0=12,6+8+1=15,3+4+1=08|0852.       (each column: digits + carry = sum)
    compact     367+485=12,15,08|0852.                         (each column's sum only: carry, digit)

how to draw training problems that never touch a held-out set, how to build batches whose loss covers
only what the model writes (the completion), and how to grade what a model writes: exactly right up to
and including the end marker, or wrong. What it does not know: how to train (helpers.timed_training
does) or the model (any helpers.GPT over `TOKENIZER`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from .completions import completion_batch, cut_at, rows_exactly_right, write_greedily
from .data import CharTokenizer
from .errors import require
from .model import GPT, GPTConfig

END = "."  # the end marker: the model stops writing here
PAD = "_"  # fills short rows of a batch; never trained on, never written
TOKENIZER = CharTokenizer("0123456789+=,|" + END + PAD)
FORMATS = ("plain", "reversed", "scratchpad", "compact")
SCRATCHPADS = ("scratchpad", "compact")  # the formats that write steps before the answer
MAX_DIGITS = 12


def scratchpad_steps(a: int, b: int, width: int) -> list[tuple[int, int, int, int]]:
    """Column addition as a schoolchild does it: `(digit of a, digit of b, carry in, column sum)` per
    column, least significant column first. The carry out of a column is its sum // 10."""
    steps, carry = [], 0
    for column in range(width):
        da, db = a // 10**column % 10, b // 10**column % 10
        total = da + db + carry
        steps.append((da, db, carry, total))
        carry = total // 10
    return steps


@dataclass(frozen=True)
class AdditionTask:
    """One way of writing addition problems with operands of up to `n_digits` digits.

    pad_operands zero-pads both operands to `n_digits` digits, pad_answer the answer to `n_digits + 1`:
    with both, every problem has the same length and each digit sits at the same position in every
    example. reverse_operands writes the operands last digit first too: then each digit of a reversed
    answer sits a fixed distance after the two operand digits it is the sum of.
    """

    format: str = "scratchpad"
    n_digits: int = 3
    pad_operands: bool = True
    pad_answer: bool = True
    reverse_operands: bool = False

    def __post_init__(self):
        require(self.format in FORMATS, f"format must be one of {FORMATS}, not {self.format!r}.")
        require(
            isinstance(self.n_digits, int) and 1 <= self.n_digits <= MAX_DIGITS,
            f"n_digits must be a whole number from 1 to {MAX_DIGITS}, not {self.n_digits!r}.",
        )

    def check_operands(self, a, b) -> None:
        for name, x in (("a", a), ("b", b)):
            require(
                isinstance(x, int) and not isinstance(x, bool) and x >= 0,
                f"{name}={x!r}: the operands are whole numbers ≥ 0. Fix: pass ints such as 367 and 485.",
            )
            require(
                x < 10**self.n_digits,
                f"{name}={x} has {len(str(x))} digits, but this task (and a model trained on it) has at most "
                f"{self.n_digits}. Fix: use numbers below {10**self.n_digits}; to see what a model does beyond "
                f"its training length, ask it with task.with_digits({len(str(x))}).",
            )

    def with_digits(self, n_digits: int) -> AdditionTask:
        """The same format for longer numbers (a model trained on fewer digits has never seen these)."""
        return replace(self, n_digits=n_digits)

    def width(self, a: int, b: int) -> int:
        """How many digit columns the problem is written with."""
        return self.n_digits if self.pad_operands else max(len(str(a)), len(str(b)))

    def prompt(self, a: int, b: int) -> str:
        self.check_operands(a, b)
        n = self.n_digits if self.pad_operands else 0
        a_text, b_text = f"{a:0{n}d}", f"{b:0{n}d}"
        if self.reverse_operands:
            a_text, b_text = a_text[::-1], b_text[::-1]
        return f"{a_text}+{b_text}="

    def answer(self, a: int, b: int) -> str:
        """The sum as this format writes it (no end marker)."""
        digits = f"{a + b:0{self.n_digits + 1}d}" if self.pad_answer else str(a + b)
        return digits[::-1] if self.format == "reversed" else digits

    def completion(self, a: int, b: int) -> str:
        """Everything the model must write after the prompt, end marker included."""
        self.check_operands(a, b)
        if self.format not in SCRATCHPADS:
            return self.answer(a, b) + END
        write = {
            "scratchpad": lambda x, y, c, s: f"{x}+{y}+{c}={s:02d}",
            "compact": lambda x, y, c, s: f"{s:02d}",  # tens digit: the carry out; units: the answer digit
        }[self.format]
        steps = ",".join(write(*step) for step in scratchpad_steps(a, b, self.width(a, b)))
        return f"{steps}|{self.answer(a, b)}{END}"

    def text(self, a: int, b: int) -> str:
        return self.prompt(a, b) + self.completion(a, b)

    @property
    def longest_text(self) -> int:
        """Characters in the longest problem of this task (operands 99…9 + 99…9)."""
        biggest = 10**self.n_digits - 1
        return len(self.text(biggest, biggest))

    @property
    def longest_completion(self) -> int:
        biggest = 10**self.n_digits - 1
        return len(self.completion(biggest, biggest))


# --------------------------------------------------------------------------------------------
# Problems: a held-out set, and training problems that never touch it


def held_out_problems(n_digits: int, count: int, seed: int = 0) -> list[tuple[int, int]]:
    """`count` distinct problems kept for testing, drawn with their own seed."""
    require(count <= 10 ** (2 * n_digits) // 2, f"{count} problems is too many for {n_digits}-digit operands.")
    gen = torch.Generator().manual_seed(seed)
    problems: dict[tuple[int, int], None] = {}
    while len(problems) < count:
        pairs = torch.randint(10**n_digits, (count, 2), generator=gen).tolist()
        problems.update(((a, b), None) for a, b in pairs)
    return list(problems)[:count]


def sample_problems(
    count: int, n_digits: int, generator: torch.Generator, exclude: frozenset | set = frozenset()
) -> list[tuple[int, int]]:
    """`count` random problems with both operands uniform in [0, 10**n_digits), none of them in `exclude`."""
    problems: list[tuple[int, int]] = []
    while len(problems) < count:
        pairs = torch.randint(10**n_digits, (count - len(problems), 2), generator=generator).tolist()
        problems += [(a, b) for a, b in pairs if (a, b) not in exclude]
    return problems


# --------------------------------------------------------------------------------------------
# Batches with the loss on the completion only


def encode_batch(task: AdditionTask, problems, device="cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and targets for next-token training, with the loss on the completion only: the prompt's
    digits are random (nothing to learn), the completion is what the model has to write."""
    prompts = [task.prompt(a, b) for a, b in problems]
    completions = [task.completion(a, b) for a, b in problems]
    return completion_batch(TOKENIZER, prompts, completions, PAD, device)


def arithmetic_model(task: AdditionTask, n_layer=2, n_head=4, n_embd=128, seed=1337, extra_digits=1) -> GPT:
    """A GPT over TOKENIZER with room for problems `extra_digits` longer than the task's (to show
    what happens beyond the training length)."""
    torch.manual_seed(seed)
    room = task.with_digits(task.n_digits + extra_digits).longest_text
    config = GPTConfig(
        vocab_size=TOKENIZER.vocab_size, block_size=room, n_layer=n_layer, n_head=n_head, n_embd=n_embd, dropout=0.0
    )
    return GPT(config)


# --------------------------------------------------------------------------------------------
# Writing answers and grading them


def grade(task: AdditionTask, a: int, b: int, written: str) -> bool:
    """Exact match: what the model wrote, up to and including its first end marker, must be the whole
    right completion. A wrong digit, a missing end marker, or an answer too long or too short is wrong."""
    return cut_at(written, END) == task.completion(a, b)


def _check_room(model: GPT, task: AdditionTask) -> None:
    require(
        task.longest_text <= model.config.block_size,
        f"{task.format} problems with {task.n_digits} digits need {task.longest_text} positions, but the model "
        f"has block_size={model.config.block_size}. Fix: build the model with room for them "
        "(arithmetic_model(task, extra_digits=...)).",
    )


@torch.no_grad()
def write_completions(model: GPT, task: AdditionTask, problems, batch_size: int = 1000) -> list[str]:
    """What the model writes for each problem, greedily, until its end marker (rows whose prompts have
    the same length go together: positions must line up)."""
    _check_room(model, task)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    by_length: dict[int, list[int]] = {}
    for i, (a, b) in enumerate(problems):
        by_length.setdefault(len(task.prompt(a, b)), []).append(i)
    written = [""] * len(problems)
    for rows in by_length.values():
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            idx = torch.tensor([TOKENIZER.encode(task.prompt(*problems[i])) for i in chunk], device=device)
            out = write_greedily(lambda t: model(t)[0][:, -1], idx, task.longest_completion, TOKENIZER.stoi[END])
            for i, ids in zip(chunk, out[:, idx.size(1) :].tolist()):
                written[i] = TOKENIZER.decode(ids)
    model.train(was_training)
    return written


def ask(model: GPT, task: AdditionTask, a: int, b: int) -> str:
    """What the model writes after the prompt `a+b=`, up to its end marker (if it writes one)."""
    written = write_completions(model, task, [(a, b)])[0]
    return cut_at(written, END) or written


def exact_match(model: GPT, task: AdditionTask, problems) -> float:
    """Fraction of `problems` the model gets exactly right, writing greedily."""
    written = write_completions(model, task, problems)
    return sum(grade(task, a, b, w) for (a, b), w in zip(problems, written)) / len(problems)


@torch.no_grad()
def exact_match_fast(model: GPT, task: AdditionTask, problems, batch_size: int = 2000) -> float:
    """The same figure as exact_match from one forward pass per batch (see rows_exactly_right): for the
    learning curves, where writing token by token would cost more than the training it measures."""
    _check_room(model, task)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    right = 0
    for start in range(0, len(problems), batch_size):
        x, y = encode_batch(task, problems[start : start + batch_size], device)
        right += int(rows_exactly_right(model(x)[0], y).sum())
    model.train(was_training)
    return right / len(problems)


def answer_sources(task: AdditionTask, a: int, b: int) -> list[tuple[int, int]]:
    """For the scratchpad format: `(position that writes answer digit k, position of the scratchpad
    digit it copies)` for each answer digit, positions counted in task.text(a, b). The position that
    writes a token is the one just before it (its output is the next token)."""
    require(
        task.format in SCRATCHPADS, f"answer_sources needs a format with steps ({SCRATCHPADS}), not {task.format!r}."
    )
    text, width = task.text(a, b), task.width(a, b)
    answer_start = text.index("|") + 1
    step_ends = [i - 1 for i, ch in enumerate(text) if ch in ",|"]  # the units digit of each column sum
    answer = task.answer(a, b)
    sources = []
    for k in range(len(answer)):
        column = len(answer) - 1 - k  # answer digits are written most significant first
        source = step_ends[column] if column < width else step_ends[width - 1] - 1  # the last carry
        sources.append((answer_start + k - 1, source))
    return sources
