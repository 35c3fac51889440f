"""Builds notebooks/01_tokenizer.ipynb: characters as tokens, the split, batches."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nb_build import code, md, solution_cell, write_notebook
from helpers.exercises.nb01 import solution_window

FILENAME = "01_tokenizer.ipynb"
TITLE = """
# 01 · The tokenizer: characters as tokens

A neural network computes with numbers, not letters. A **tokenizer** turns text into a list of integers
(token ids) and back. Ours is the simplest there is: one token per character. Then we split the data into
training and validation parts and cut it into **batches** of (context, next character) examples.
"""

CELLS = [
    md("""
    ## The vocabulary

    Every distinct character of the corpus gets an id. Sorting them makes the ids the same on every machine.
    """),
    code("""
    from helpers import load_text

    text = load_text()
    chars = sorted(set(text))
    vocab_size = len(chars)
    print(f"vocab_size = {vocab_size}: {''.join(chars)!r}")
    assert vocab_size == 65
    """),
    md("""
    ## Encode and decode

    Two lookup tables: `stoi` (string → integer) and `itos` (integer → string). Encoding maps each character
    to its id; decoding maps ids back. Decoding an encoding must give back the very same text.
    """),
    code("""
    stoi = {ch: i for i, ch in enumerate(chars)}
    itos = {i: ch for i, ch in enumerate(chars)}

    def encode(s):
        return [stoi[ch] for ch in s]

    def decode(ids):
        return "".join(itos[i] for i in ids)

    print(encode("To be, or not to be"))
    print(decode(encode("To be, or not to be")))
    assert decode(encode(text[:10_000])) == text[:10_000]
    """),
    md("""
    `helpers.CharTokenizer` is the same thing as a class, plus a clear error for characters it has never seen
    (a model trained on this corpus has no id for `é` or `€`). The drift check: same vocabulary, same ids for
    the whole corpus, same text back.
    """),
    code("""
    # drift check: matches helpers
    from helpers import CharTokenizer

    tokenizer = CharTokenizer.from_text(text)
    assert tokenizer.vocab_size == vocab_size and tokenizer.stoi == stoi
    assert tokenizer.encode(text) == encode(text)
    assert tokenizer.decode(encode(text[:1000])) == decode(encode(text[:1000]))
    print(tokenizer, "encodes the whole corpus exactly like our encode()")
    """),
    code("""
    from helpers import WorkshopError

    try:
        tokenizer.encode("café")
    except WorkshopError as err:
        print("WorkshopError:", err)
    """),
    md("""
    ## The whole corpus as one tensor

    Encoded, the corpus is one long row of about 1.1 million integers. PyTorch keeps it in a `torch.long` tensor.
    """),
    code("""
    import torch

    data = torch.tensor(tokenizer.encode(text), dtype=torch.long)
    print(data.shape, data.dtype)
    print(data[:40])
    """),
    md("""
    ## Train / validation split

    We train on the first 90% and keep the last 10% aside. The loss on text the model never trained on (the
    **validation loss**) tells us whether it learns Shakespeare or just memorises its training text. The split is
    contiguous, not shuffled: a shuffled split would put neighbouring, near-identical passages on both sides.
    """),
    code("""
    n = int(0.9 * len(data))
    train_data, val_data = data[:n], data[n:]
    print(f"train: {len(train_data):,} tokens, val: {len(val_data):,} tokens")
    """),
    code("""
    # drift check: matches helpers
    from helpers import train_val_split

    helper_train, helper_val = train_val_split(data)
    assert torch.equal(helper_train, train_data) and torch.equal(helper_val, val_data)
    print("helpers.train_val_split splits at the same place")
    """),
    md("""
    ## Examples: a context and the next character

    We never feed the whole text at once. We take a window of `block_size` characters; `x` is the window, `y` is
    the same window shifted one character to the left. One window holds `block_size` training examples at
    once: after 1 character predict the 2nd, after 2 predict the 3rd, and so on. That is also why the model can
    later generate from a prompt of any length up to `block_size`.
    """),
    code("""
    block_size = 8
    x = train_data[:block_size]
    y = train_data[1 : block_size + 1]
    for t in range(block_size):
        context, target = x[: t + 1], y[t]
        print(f"after {decode(context.tolist())!r:<12} comes {decode([target.item()])!r}")
    """),
    md("""
    ## Batches

    A GPU is fast when it does many things at once, so we stack `batch_size` random windows into a matrix.
    Random starting points mean every step sees different text.
    """),
    code("""
    def get_batch_by_hand(data, batch_size, block_size, generator=None):
        starts = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
        x = torch.stack([data[i : i + block_size] for i in starts])
        y = torch.stack([data[i + 1 : i + block_size + 1] for i in starts])
        return x, y

    xb, yb = get_batch_by_hand(train_data, batch_size=4, block_size=8, generator=torch.Generator().manual_seed(42))
    print("x =", xb, "\\ny =", yb, sep="\\n")
    assert torch.equal(xb[:, 1:], yb[:, :-1]), "y is x shifted by one"
    """),
    md("""
    `helpers.get_batch` does the same with one gather instead of a Python loop (it matters on a GPU). With the
    same random seed it must pick the very same windows.
    """),
    code("""
    # drift check: matches helpers
    from helpers import get_batch

    for batch_size, block_size in [(4, 8), (32, 64)]:
        mine = get_batch_by_hand(train_data, batch_size, block_size, torch.Generator().manual_seed(7))
        theirs = get_batch(train_data, batch_size, block_size, torch.Generator().manual_seed(7))
        assert torch.equal(mine[0], theirs[0]) and torch.equal(mine[1], theirs[1])
    print("helpers.get_batch picks the same windows")
    """),
    md("""
    From here on, `helpers.Corpus` bundles all of this: text, tokenizer, and the encoded splits.
    """),
    code("""
    from helpers import Corpus

    corpus = Corpus.load()
    xb, yb = corpus.batch("train", batch_size=4, block_size=8)
    print(corpus.tokenizer, corpus.train.shape, corpus.val.shape, xb.shape)
    """),
    md("""
    ## Why characters, and what BPE would change

    Characters give a tiny vocabulary (65) and a tokenizer that fits in three lines, and no text is ever
    "unknown" inside the corpus. The price: sequences are long (one token per character), so the model needs a
    long context to see a few words, and it must learn spelling before it can learn anything else.

    Real LLMs use **byte-pair encoding (BPE)**: start from bytes, then repeatedly merge the most frequent
    adjacent pair into a new token, until the vocabulary has the size you want (GPT-2: 50,257 tokens). Common
    words become single tokens, so the same text needs about 4× fewer tokens, and the same context length sees
    4× more text. But the vocabulary is huge, which costs parameters: let us count with words as a stand-in.
    """),
    code("""
    words = text.split()
    n_embd = 384  # the width of the reference model (notebook 04)
    print(f"characters: vocabulary {vocab_size:>6,}, sequence {len(text):>9,} tokens, embedding table {vocab_size * n_embd:>12,} numbers")
    print(f"words:      vocabulary {len(set(words)):>6,}, sequence {len(words):>9,} tokens, embedding table {len(set(words)) * n_embd:>12,} numbers")
    print(f"GPT-2 BPE:  vocabulary {50257:>6,}, embedding table {50257 * n_embd:,} numbers: more than our whole 10.8M model")
    assert len(set(words)) > 100 * vocab_size
    """),
    md("""
    On a one-megabyte corpus most of those word (or BPE) tokens would be seen only a handful of times, too few to
    learn from. With 65 characters, each is seen thousands of times. That is why this workshop works at
    character level.

    ## Recap

    - The tokenizer maps each of the **65** characters to an id and back; `decode(encode(s)) == s`.
    - 90% of the text trains the model, the last 10% validates it (contiguous split).
    - A window of `block_size` characters holds `block_size` examples: `y` is `x` shifted by one.
    - Batches stack random windows; `helpers` (`CharTokenizer`, `train_val_split`, `get_batch`, `Corpus`) does
      exactly what we built (drift checks passed).
    - BPE would shorten sequences about 4× but needs a vocabulary (and embedding table) hundreds of times larger.

    ## Exercise

    Write `window(data, start, block_size)` that returns `(x, y)`: `block_size` tokens starting at `start`, and
    the targets for each of them.
    """),
    code("""
    from helpers.exercises.nb01 import check_window

    def window(data, start, block_size):
        ...  # your code here: return x, y

    check_window(window)
    """),
    solution_cell(solution_window),
    code("""
    from helpers.exercises.nb01 import solution_window

    assert check_window(solution_window)
    assert not check_window(lambda data, start, block_size: (data[start : start + block_size],) * 2)
    """),
]

if __name__ == "__main__":
    write_notebook(FILENAME, TITLE, CELLS)
