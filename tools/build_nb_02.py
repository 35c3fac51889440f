"""Builds notebooks/02_bigram.ipynb: embeddings → logits → cross-entropy, a bigram model."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nb_build import code, md, solution_cell, write_notebook
from helpers.exercises.nb02 import solution_cross_entropy

FILENAME = "02_bigram.ipynb"
TITLE = """
# 02 · The bigram model: embeddings → logits → cross-entropy

The simplest possible language model guesses the next character from the **current character only**.
It is a bad model, on purpose: it has every part a GPT has at both ends (token ids in, a score for each next
character out, a loss that says how wrong it was, an optimiser that makes it less wrong), and its output
shows exactly what is missing: context.
"""

CELLS = [
    code("""
    import math

    import matplotlib.pyplot as plt
    import torch
    import torch.nn as nn
    from torch.nn import functional as F

    from helpers import Corpus, smoke_mode

    corpus = Corpus.load(device=device)
    tokenizer, vocab_size = corpus.tokenizer, corpus.tokenizer.vocab_size
    print(tokenizer, "| smoke mode" if smoke_mode() else "")
    """),
    md("""
    ## A table of scores

    For each of the 65 characters, the model keeps a row of 65 numbers: how strongly it believes each character
    comes next. These raw scores are called **logits**. `nn.Embedding(65, 65)` is exactly such a table: give it
    an id, it returns that row. (In a GPT, the embedding rows are vectors of features rather than scores, but the
    lookup is the same.)

    The weights start small (standard deviation 0.02, as in GPT-2), so at first every next character looks about
    equally likely.
    """),
    code("""
    class Bigram(nn.Module):
        def __init__(self, vocab_size):
            super().__init__()
            self.table = nn.Embedding(vocab_size, vocab_size)
            nn.init.normal_(self.table.weight, mean=0.0, std=0.02)

        def forward(self, idx, targets=None):
            logits = self.table(idx)  # (B, T) ids → (B, T, vocab) scores
            loss = None
            if targets is not None:
                loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1))
            return logits, loss

    torch.manual_seed(1337)
    model = Bigram(vocab_size).to(device)
    xb, yb = corpus.batch("train", batch_size=4, block_size=8)
    logits, loss = model(xb, yb)
    print("input", tuple(xb.shape), "→ logits", tuple(logits.shape))
    """),
    md("""
    ## From logits to a loss

    **Softmax** turns a row of logits into probabilities: exponentiate (everything becomes positive), divide by
    the sum (everything adds up to 1). The **cross-entropy** loss is `-log(probability given to the right
    answer)`: 0 when the model is sure and right, large when it gave the truth little probability.
    """),
    code("""
    probs = logits[0, 0].softmax(dim=-1)
    target = yb[0, 0].item()
    print(f"after {tokenizer.decode([xb[0, 0]])!r} the true next character is {tokenizer.decode([target])!r}")
    print(f"the model gives it probability {probs[target]:.4f}, so the loss here is -log of that = {-probs[target].log():.4f}")
    print(f"probabilities sum to {probs.sum():.4f}")
    """),
    md("""
    ## Why the first loss is ln(65) ≈ 4.17

    A model that knows nothing should spread its bets evenly: probability 1/65 on each character. Its loss is then
    `-log(1/65) = ln(65) ≈ 4.17` on every example. Our freshly initialised model is close to that, which is how
    you know an initialisation is sane. If your first loss is far above 4.17, the model starts out *confidently
    wrong* and wastes its first steps unlearning that.
    """),
    code("""
    print(f"ln(65) = {math.log(vocab_size):.4f}, first loss = {loss.item():.4f}")
    assert abs(loss.item() - math.log(vocab_size)) < 0.05, "a fresh model should guess uniformly"
    """),
    md("""
    For comparison: `nn.Embedding`'s own default initialisation draws the scores with standard deviation 1.
    The model then has strong, random opinions, and starts far worse than guessing.
    """),
    code("""
    torch.manual_seed(1337)
    loud = nn.Embedding(vocab_size, vocab_size).to(device)  # default init: N(0, 1)
    loud_loss = F.cross_entropy(loud(xb).view(-1, vocab_size), yb.reshape(-1))
    print(f"default-init first loss = {loud_loss.item():.2f} (vs {math.log(vocab_size):.2f} for a uniform guess)")
    assert loud_loss.item() > math.log(vocab_size) + 0.3
    """),
    md("""
    `helpers.bigram.BigramLanguageModel` is the same model. Drift check: with our weights copied in, it must give
    the same logits and the same loss.
    """),
    code("""
    # drift check: matches helpers
    from helpers.bigram import BigramLanguageModel

    reference = BigramLanguageModel(vocab_size).to(device)
    reference.token_logits.weight.data.copy_(model.table.weight.data)
    ref_logits, ref_loss = reference(xb, yb)
    torch.testing.assert_close(ref_logits, logits)
    torch.testing.assert_close(ref_loss, loss)
    print("helpers' BigramLanguageModel gives the same logits and loss")
    """),
    md("""
    ## Training, briefly

    The optimiser (AdamW, explained in notebook 05) nudges every number in the table to lower the loss on a batch;
    repeat a few thousand times. We estimate the loss on both splits before and after, averaging many batches so
    the numbers are not noise. In smoke mode (for tests) we train for fewer steps.
    """),
    code("""
    from tqdm.auto import tqdm

    @torch.no_grad()
    def estimate_loss(model, batches=50):
        return {split: sum(model(*corpus.batch(split, 32, 8))[1].item() for _ in range(batches)) / batches
                for split in ("train", "val")}

    torch.manual_seed(1337)
    model = BigramLanguageModel(vocab_size).to(device)
    before = estimate_loss(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    steps = 300 if smoke_mode() else 3000
    losses = []
    for step in tqdm(range(steps), desc="training the bigram"):
        xb, yb = corpus.batch("train", batch_size=32, block_size=8)
        _, loss = model(xb, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    after = estimate_loss(model)
    print(f"before: {before}\\nafter:  {after}")
    assert after["val"] < before["val"] - 1.0, "training should lower the loss well below 4.17"
    """),
    code("""
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.plot(losses, alpha=0.4, label="loss per batch")
    ax.axhline(math.log(vocab_size), color="gray", linestyle=":", label="ln(65): guessing")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    plt.show()
    """),
    md("""
    ## How good can a bigram get?

    For this model the best possible table can be computed directly: count, in the training text, how often each
    character follows each other one, and turn the counts into probabilities. Its validation loss is the floor
    that no amount of training gets the bigram below. Training approaches it (in the full run, within a few
    hundredths).
    """),
    code("""
    train, val = corpus.train.cpu(), corpus.val.cpu()
    counts = torch.ones(vocab_size, vocab_size)  # +1 smoothing: no pair gets probability zero
    counts.index_put_((train[:-1], train[1:]), torch.ones(len(train) - 1), accumulate=True)
    best_table = counts / counts.sum(dim=1, keepdim=True)
    floor = -best_table[val[:-1], val[1:]].log().mean().item()
    print(f"best possible bigram val loss: {floor:.3f}; ours after training: {after['val']:.3f}")
    if not smoke_mode():
        assert after["val"] < floor + 0.05, "the full run should get close to the counting optimum"
    """),
    md("""
    What did it learn? Row = current character, column = next; darker = more likely. Look for the dark spots:
    after `q` comes `u`, and after `:` (the end of a speaker's name) comes a new line.
    """),
    code("""
    probs_table = model.token_logits.weight.detach().softmax(dim=-1).cpu()
    fig, ax = plt.subplots(figsize=(7, 7))
    ax.imshow(probs_table, cmap="Blues")
    labels = [repr(ch)[1:-1] for ch in tokenizer.chars]
    ax.set_xticks(range(vocab_size), labels, fontsize=6)
    ax.set_yticks(range(vocab_size), labels, fontsize=6)
    ax.set_xlabel("next character")
    ax.set_ylabel("current character")
    plt.show()
    """),
    code("""
    def likeliest_after(ch):
        return tokenizer.decode([probs_table[tokenizer.stoi[ch]].argmax()])

    print("most likely after 'q':", repr(likeliest_after("q")), "| after ':':", repr(likeliest_after(":")))
    if not smoke_mode():  # a smoke run is too short to learn these
        assert likeliest_after("q") == "u" and likeliest_after(":") == "\\n"
    """),
    md("""
    ## Gibberish

    Sampling: start from a new line, draw the next character from the model's probabilities, append it, repeat.
    `helpers.generate` does this for any model; for the bigram it only ever shows the model the last character.
    """),
    code("""
    from helpers import sample_text

    print(sample_text(model, tokenizer, prompt="\\n", max_new_tokens=300, seed=0))
    """),
    md("""
    Word-like lumps, line breaks, capitals after new lines, but no words, no sense. The reason is built in: the
    prediction depends on the last character only. After `"th"` and after `"sh"` the model predicts *exactly* the
    same thing, because both end in `h`. It cannot know that `th` is usually followed by `e` and `sh` is not.
    """),
    code("""
    with torch.no_grad():
        after_th = model(torch.tensor([tokenizer.encode("th")], device=device))[0][0, -1]
        after_sh = model(torch.tensor([tokenizer.encode("sh")], device=device))[0][0, -1]
    assert torch.equal(after_th, after_sh), "a bigram sees only the last character"
    print("after 'th' and after 'sh' the bigram predicts the same distribution: it has no context")
    """),
    md("""
    To do better, each position must be able to **look back** at the characters before it. That is attention,
    notebook 03.

    ## Recap

    - A model maps token ids to **logits**, one score per possible next character; **softmax** makes them
      probabilities.
    - **Cross-entropy** = `-log(probability of the right answer)`, averaged.
    - A model that guesses uniformly scores **ln(65) ≈ 4.17**: a good first loss (asserted above). Large random
      initial weights start worse.
    - Training lowered the loss from about 4.17 towards the bigram's floor (about 2.48 on val, computed by counting).
    - The bigram's samples are gibberish because it sees one character of context.

    ## Exercise

    Write the cross-entropy yourself: `cross_entropy(logits, targets)` for logits of shape `(N, vocab)` and
    targets of shape `(N,)`, without `F.cross_entropy`.
    """),
    code("""
    from helpers.exercises.nb02 import check_cross_entropy

    def cross_entropy(logits, targets):
        ...  # your code here

    check_cross_entropy(cross_entropy)
    """),
    solution_cell(solution_cross_entropy),
    code("""
    from helpers.exercises.nb02 import solution_cross_entropy

    assert check_cross_entropy(solution_cross_entropy)
    assert not check_cross_entropy(lambda logits, targets: logits.softmax(dim=-1).mean())
    """),
]

if __name__ == "__main__":
    write_notebook(FILENAME, TITLE, CELLS)
