"""Builds notebooks/00_setup_and_data.ipynb: what we build, the machine check, the corpus."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for helpers.exercises

from nb_build import code, md, solution_cell, write_notebook
from helpers.exercises.nb00 import solution_most_common_char

FILENAME = "00_setup_and_data.ipynb"
TITLE = """
# 00 · Setup and data

In this workshop we train a small GPT (the architecture behind ChatGPT, at toy scale) on the complete works
of Shakespeare, from scratch, with PyTorch. This first notebook checks the machine and looks at the data.

Run the cell below first: in Colab it fetches the workshop code; on your laptop it finds it.
"""

CELLS = [
    md("""
    ## What we will build, and why

    A language model does one thing: given some text, it gives a probability for each possible **next**
    character. Sample from that, append, repeat: that is text generation. Everything in the next notebooks
    is about making that one prediction good.

    | notebook | idea |
    |---|---|
    | 01 tokenizer | text → numbers (65 characters → 65 ids), train/val split, batches |
    | 02 bigram | the simplest model: the next character from the current one only |
    | 03 attention | let each character look back at everything before it |
    | 04 transformer | attention + MLP + residuals + LayerNorm, stacked: the GPT (≈10.8M parameters) |
    | 05 training | AdamW, warm-up + cosine schedule, watching train and val loss |
    | 06 sampling | greedy, temperature, top-k, top-p |
    | 07 scaling | what memory and time cost as context and model grow |
    | 08 fine-tuning | adapting a trained model, and what comes next |

    Each notebook builds its idea by hand, then proves that what it built equals the finished version in the
    `helpers` package (a *drift check*), and from then on uses `helpers`.
    """),
    md("""
    ## The machine

    The setup cell printed what it found. Training runs on an NVIDIA GPU (`cuda`, e.g. Colab's free T4), on
    an Apple GPU (`mps`), or on the CPU. The **precision** is how many bits each number gets while training:
    `fp16` on older NVIDIA cards like the T4, `bf16` from the Ampere generation (A100, RTX 30xx) on and on CPUs
    with fast bf16 instructions, and plain `fp32` elsewhere. Fewer bits means faster and less memory, at a small cost in accuracy.
    """),
    code("""
    from helpers.device import describe

    info = describe(device)
    for key, value in info.items():
        print(f"{key:>20}: {value}")
    if device == "cuda":
        print(f"\\nGPU found: {info['gpu']}. The full-size run in notebook 05 takes minutes here.")
    else:
        print(f"\\nNo NVIDIA GPU: we train smaller models on {device}. In Colab: Runtime → Change runtime type → T4 GPU.")
    """),
    md("""
    ## The corpus: tiny Shakespeare

    About a million characters of Shakespeare's plays in one text file (Andrej Karpathy's *tiny Shakespeare*).
    `find_corpus()` looks for it (the `WORKSHOP_CORPUS` environment variable, then the repository's `data/`
    folder) and downloads it there once if it is missing.
    """),
    code("""
    from helpers import find_corpus

    path = find_corpus()
    print(path, f"({path.stat().st_size:,} bytes)")
    """),
    md("""
    Reading it is one line of Python. A text file is bytes; `encoding="utf-8"` turns them into characters.
    """),
    code("""
    text = path.read_text(encoding="utf-8")
    print(f"{len(text):,} characters, {text.count(chr(10)):,} lines, {len(text.split()):,} words")
    assert 1_000_000 < len(text) < 1_200_000, "tiny Shakespeare has about 1.1 million characters"
    """),
    md("""
    `helpers.load_text()` does the same, and also refuses files that are not text with a message that says
    how to fix it. Proving the two agree is this notebook's drift check: from here on we use `load_text`.
    """),
    code("""
    # drift check: matches helpers
    from helpers import load_text

    assert load_text(path) == text
    print("helpers.load_text gives exactly the same text")
    """),
    md("## A look at it\n\nThe first few hundred characters: speaker names in capitals, each followed by a colon and their lines."),
    code("""
    print(text[:600])
    """),
    md("""
    Which characters occur? This set becomes the model's **vocabulary** in notebook 01: the model can only ever
    read and write these symbols.
    """),
    code("""
    chars = sorted(set(text))
    print(f"{len(chars)} distinct characters:")
    print(repr("".join(chars)))
    assert len(chars) == 65, "tiny Shakespeare uses 65 distinct characters"
    """),
    md("""
    They are far from equally common. A model that learns only these frequencies would already beat random
    guessing, and that is roughly where the bigram model of notebook 02 ends up.
    """),
    code("""
    from collections import Counter

    import matplotlib.pyplot as plt

    counts = Counter(text)
    top = counts.most_common(30)
    fig, ax = plt.subplots(figsize=(10, 3))
    ax.bar([repr(ch)[1:-1] for ch, _ in top], [n / len(text) for _, n in top])
    ax.set_ylabel("share of all characters")
    ax.set_title("the 30 most common characters (' ' is a space, \\\\n a new line)")
    plt.show()
    print("rarest:", [(ch, n) for ch, n in counts.most_common()[-5:]])
    """),
    md("""
    Who speaks most? A speaker's turn starts with a line like `ROMEO:`. A little text processing tells us who
    dominates the corpus, which matters in notebook 08 when we fine-tune on one character's lines.
    """),
    code("""
    speakers = Counter(line[:-1] for line in text.splitlines() if line.endswith(":") and line[:-1].isupper())
    for name, turns in speakers.most_common(8):
        print(f"{name:<20} {turns:>4} turns")
    """),
    md("""
    ## Recap

    - A language model predicts the **next character**; generating text is repeating that prediction.
    - The machine check tells which device and precision we train with (`cuda`/`mps`/`cpu`; `fp16`/`bf16`/`fp32`).
    - The corpus is about 1.1 million characters of Shakespeare, written with just **65 distinct characters**.
    - `helpers.load_text()` reads it exactly as we did by hand (drift check passed).

    ## Exercise

    Write `most_common_char(text)` that returns the character occurring most often in `text`, then run the
    check. (What do you expect it to be for the whole corpus?)
    """),
    code("""
    from helpers.exercises.nb00 import check_most_common_char

    def most_common_char(text):
        ...  # your code here

    check_most_common_char(most_common_char)
    """),
    solution_cell(solution_most_common_char),
    md("The cell below makes sure the checker itself works: it accepts the solution and rejects a wrong answer."),
    code("""
    from helpers.exercises.nb00 import solution_most_common_char

    assert check_most_common_char(solution_most_common_char)
    assert not check_most_common_char(lambda text: text[0])
    print("the most common character of the corpus:", repr(solution_most_common_char(text)))
    """),
]

if __name__ == "__main__":
    write_notebook(FILENAME, TITLE, CELLS)
