"""Builds notebooks/03_attention.ipynb: from averaging the past to multi-head causal self-attention."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nb_build import code, md, solution_cell, write_notebook
from helpers.exercises.nb03 import solution_attention

FILENAME = "03_attention.ipynb"
TITLE = """
# 03 · Attention: letting each character look back

The bigram model saw one character. Now every position gets to gather information from **all the positions
before it**, but never from the ones after it (when generating, the future does not exist yet). We get there in
small steps: a plain average of the past, the same average as one matrix multiply, then weights that the data
chooses itself: scaled dot-product attention, one head and then several.
"""

CELLS = [
    code("""
    import math

    import matplotlib.pyplot as plt
    import torch
    import torch.nn as nn
    from torch.nn import functional as F
    """),
    md("""
    ## Step 1: averaging the past

    A toy batch: `B` sequences of `T` positions, each position a vector of `C` numbers (think: the embedding of a
    character). The crudest way to let position `t` know about its past: replace it with the **average of
    positions 0…t**. Written as a loop, that is:
    """),
    code("""
    torch.manual_seed(1337)
    B, T, C = 4, 8, 2
    x = torch.randn(B, T, C)

    xbow = torch.zeros(B, T, C)  # "bag of words": the average of everything so far
    for b in range(B):
        for t in range(T):
            xbow[b, t] = x[b, : t + 1].mean(dim=0)
    print(x[0], xbow[0], sep="\\n")
    """),
    md("""
    ## Step 2: the same, as one matrix multiply

    Loops are slow. A **lower-triangular** matrix whose rows sum to 1 does the same averaging in one
    multiplication: row `t` has `1/(t+1)` in columns `0…t` and zeros after, so it mixes exactly the past.
    """),
    code("""
    weights = torch.tril(torch.ones(T, T))
    weights = weights / weights.sum(dim=1, keepdim=True)
    print(weights)
    xbow2 = weights @ x  # (T, T) @ (B, T, C) → (B, T, C)
    torch.testing.assert_close(xbow2, xbow)
    """),
    md("""
    ## Step 3: the same, as a softmax of masked scores

    The form attention uses: start from a matrix of **scores** (here all zero: no position prefers any other),
    set the future to `-inf`, and take the softmax of each row. `exp(-inf) = 0`, so the future gets weight 0,
    and equal scores give equal weights over the past: the average again. Attention will replace the zeros with
    scores computed from the data.
    """),
    code("""
    tril = torch.tril(torch.ones(T, T, dtype=torch.bool))
    scores = torch.zeros(T, T)
    scores = scores.masked_fill(~tril, float("-inf"))  # the causal mask: no peeking ahead
    weights3 = F.softmax(scores, dim=-1)
    print(scores[:3], weights3[:3], sep="\\n")
    torch.testing.assert_close(weights3 @ x, xbow)
    print("loop, matrix multiply and masked softmax give the same averages")
    """),
    md("""
    ## Step 4: self-attention, one head

    An average treats every earlier character as equally interesting. It is not: after `"ROMEO"` the colon
    matters; inside a word, the previous few letters matter. So every position emits three vectors, each a
    learned linear function of its own embedding:

    - a **query** `q`: what am I looking for?
    - a **key** `k`: what do I contain?
    - a **value** `v`: what do I pass on if you attend to me?

    The score of position `t` for an earlier position `s` is the dot product `q_t · k_s`: large when what `t`
    looks for matches what `s` offers. Then: divide by `sqrt(head_size)` (step 5 shows why), mask the future,
    softmax, and take the weighted sum of the values.
    """),
    code("""
    B, T, C = 4, 8, 32
    head_size = 16
    x = torch.randn(B, T, C)

    query = nn.Linear(C, head_size)
    key = nn.Linear(C, head_size)
    value = nn.Linear(C, head_size)
    q, k, v = query(x), key(x), value(x)  # each (B, T, head_size)

    scores = q @ k.transpose(-2, -1) / math.sqrt(head_size)  # (B, T, T): every query against every key
    tril = torch.tril(torch.ones(T, T, dtype=torch.bool))
    weights = F.softmax(scores.masked_fill(~tril, float("-inf")), dim=-1)
    out = weights @ v  # (B, T, head_size)
    print(weights[0].detach().numpy().round(2))
    """),
    md("""
    Unlike step 3, the weights now differ per row and per sequence: the data decides where to look. Two claims we
    rely on from now on, checked: every row is a probability distribution over the past, and **the future has no
    influence**: changing the characters after position 5 leaves positions 0…5 exactly as they were.
    """),
    code("""
    assert torch.all(weights.masked_select(~tril) == 0), "no weight on the future"
    torch.testing.assert_close(weights.sum(dim=-1), torch.ones(B, T))

    def one_head(x):
        q, k, v = query(x), key(x), value(x)
        scores = (q @ k.transpose(-2, -1) / math.sqrt(head_size)).masked_fill(~tril, float("-inf"))
        return F.softmax(scores, dim=-1) @ v

    changed = x.clone()
    changed[:, 6:] = torch.randn(B, T - 6, C)  # rewrite the future of position 5
    with torch.no_grad():
        torch.testing.assert_close(one_head(changed)[:, :6], one_head(x)[:, :6])
        assert not torch.allclose(one_head(changed)[:, 6:], one_head(x)[:, 6:])
    print("the causal mask holds: positions 0..5 do not see positions 6..7")
    """),
    md("A heat map of the weights: row = the position that looks, column = the position it looks at. The upper triangle is the masked future."),
    code("""
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.5))
    for ax, w, title in [(axes[0], weights3, "step 3: plain average"), (axes[1], weights[0].detach(), "one head, random weights")]:
        image = ax.imshow(w, cmap="viridis", vmin=0, vmax=1)
        ax.set_title(title)
        ax.set_xlabel("looks at position")
        ax.set_ylabel("position")
    fig.colorbar(image, ax=axes)
    plt.show()
    """),
    md("""
    ## Step 5: why divide by sqrt(head_size)?

    At initialisation, `q` and `k` have entries of variance about 1. Their dot product sums `head_size` products,
    so its **variance grows to head_size**. Softmax of such large scores is nearly one-hot: every position stares at
    a single other position, and the gradients through the other weights are almost zero, so it learns slowly.
    Dividing by `sqrt(head_size)` brings the variance back to 1. Measured:
    """),
    code("""
    head_size = 64
    q = torch.randn(256, 16, head_size)
    k = torch.randn(256, 16, head_size)
    raw = q @ k.transpose(-2, -1)
    scaled = raw / math.sqrt(head_size)
    print(f"var(q) = {q.var():.2f}, var(k) = {k.var():.2f}")
    print(f"var(q·k) = {raw.var():.1f}  (≈ head_size = {head_size})")
    print(f"var(q·k / sqrt(head_size)) = {scaled.var():.2f}  (≈ 1)")
    assert 0.9 * head_size < raw.var() < 1.1 * head_size
    assert 0.9 < scaled.var() < 1.1
    """),
    code("""
    row_raw, row_scaled = raw[0, -1].softmax(dim=-1), scaled[0, -1].softmax(dim=-1)
    fig, axes = plt.subplots(1, 2, figsize=(9, 2.5), sharey=True)
    axes[0].bar(range(16), row_raw)
    axes[0].set_title("softmax(q·k): nearly one-hot")
    axes[1].bar(range(16), row_scaled)
    axes[1].set_title("softmax(q·k / sqrt(head_size)): spread out")
    plt.show()
    top_raw = raw.softmax(dim=-1).max(dim=-1).values.mean()
    top_scaled = scaled.softmax(dim=-1).max(dim=-1).values.mean()
    print(f"average largest weight in a row: unscaled {top_raw:.2f}, scaled {top_scaled:.2f} (uniform would be {1/16:.3f})")
    assert top_raw > 0.5 > top_scaled
    """),
    md("""
    **The famous bug: `sqrt(n_embd)` instead of `sqrt(head_size)`.** With several heads, each head's dot product
    runs over its own `head_size = n_embd / n_head` channels, not over all `n_embd`. Code that divides by
    `sqrt(n_embd)` (a common slip) runs fine and trains, so nobody notices; but for the reference model
    (`n_embd = 384`, 6 heads of 64) the scores start with a variance of 64/384 = 1/6 instead of 1: attention starts
    out nearly a flat average and the queries and keys must first grow to undo it.
    """),
    code("""
    n_embd = 384  # 6 heads × head_size 64
    wrong = raw / math.sqrt(n_embd)
    print(f"var with sqrt(n_embd): {wrong.var():.3f} (expected {head_size / n_embd:.3f}); with sqrt(head_size): {scaled.var():.2f}")
    assert abs(wrong.var() - head_size / n_embd) < 0.02
    """),
    md("""
    ## Step 6: multi-head attention

    One head can follow one kind of relation at a time. Several heads run side by side, each with its own
    queries, keys and values and `head_size = n_embd / n_head` channels; their outputs are concatenated and mixed
    by one more linear layer (the **projection**). Same cost as one big head, more kinds of looking.
    """),
    code("""
    class Head(nn.Module):
        \"\"\"One head of causal self-attention.\"\"\"

        def __init__(self, n_embd, head_size, block_size):
            super().__init__()
            self.query = nn.Linear(n_embd, head_size)
            self.key = nn.Linear(n_embd, head_size)
            self.value = nn.Linear(n_embd, head_size)
            self.register_buffer("tril", torch.tril(torch.ones(block_size, block_size, dtype=torch.bool)))
            self.last_weights = None  # kept for heat maps

        def forward(self, x):
            T = x.size(1)
            q, k, v = self.query(x), self.key(x), self.value(x)
            scores = q @ k.transpose(-2, -1) / math.sqrt(k.size(-1))
            weights = F.softmax(scores.masked_fill(~self.tril[:T, :T], float("-inf")), dim=-1)
            self.last_weights = weights.detach()
            return weights @ v


    class MultiHeadAttention(nn.Module):
        \"\"\"n_head heads in parallel, concatenated, then projected back to n_embd.\"\"\"

        def __init__(self, n_embd, n_head, block_size):
            super().__init__()
            self.heads = nn.ModuleList([Head(n_embd, n_embd // n_head, block_size) for _ in range(n_head)])
            self.proj = nn.Linear(n_embd, n_embd)

        def forward(self, x):
            return self.proj(torch.cat([head(x) for head in self.heads], dim=-1))


    mha = MultiHeadAttention(n_embd=32, n_head=4, block_size=16)
    print(mha(torch.randn(2, 10, 32)).shape)
    """),
    md("""
    ## Drift check against `helpers`

    `helpers.model.CausalSelfAttention` computes all heads at once: one linear layer `c_attn` makes the queries,
    keys and values of every head in a single matrix multiply (rows `0…C` are the queries, `C…2C` the keys,
    `2C…3C` the values; head `h` owns rows `h·head_size … (h+1)·head_size` of each), and `c_proj` is our `proj`.
    We copy its weights into our hand-built module, slice by slice, and demand the same output: both through its
    readable path and through PyTorch's fused kernel (`F.scaled_dot_product_attention`, notebook 07).
    """),
    code("""
    from helpers import GPTConfig
    from helpers.model import CausalSelfAttention

    def copy_into_heads(theirs, ours):
        \"\"\"Split helpers' c_attn into per-head query/key/value weights.\"\"\"
        C, hs = theirs.c_attn.in_features, theirs.head_size
        with torch.no_grad():
            for part, name in enumerate(["query", "key", "value"]):
                for h, head in enumerate(ours.heads):
                    rows = slice(part * C + h * hs, part * C + (h + 1) * hs)
                    getattr(head, name).weight.copy_(theirs.c_attn.weight[rows])
                    getattr(head, name).bias.copy_(theirs.c_attn.bias[rows])
            ours.proj.weight.copy_(theirs.c_proj.weight)
            ours.proj.bias.copy_(theirs.c_proj.bias)
    """),
    code("""
    # drift check: matches helpers
    config = GPTConfig(block_size=16, n_embd=48, n_head=4, dropout=0.0)
    theirs = CausalSelfAttention(config).eval()
    ours = MultiHeadAttention(config.n_embd, config.n_head, config.block_size)
    copy_into_heads(theirs, ours)

    x = torch.randn(3, 16, config.n_embd)
    with torch.no_grad():
        expected = ours(x)
        torch.testing.assert_close(theirs(x), expected)  # fused kernel
        theirs.fast = False
        torch.testing.assert_close(theirs(x), expected)  # readable path
        theirs.keep_weights = True
        theirs(x)
        torch.testing.assert_close(theirs.weights, torch.stack([h.last_weights for h in ours.heads], dim=1))
    print("helpers' CausalSelfAttention = our heads: same outputs, same attention weights")
    """),
    md("""
    From here on we use `helpers.model.CausalSelfAttention`. Its weights per head, as heat maps, on a line of
    text. The model is untrained, so *where* each head looks is still arbitrary (notebook 06's attention explorer
    shows the heads of a trained model); what you can see already is that each head weighs the past differently,
    and that nothing ever looks into the future.
    """),
    code("""
    from helpers import CharTokenizer, load_text

    tokenizer = CharTokenizer.from_text(load_text())
    line = "ROMEO: But soft"
    ids = torch.tensor([tokenizer.encode(line)])
    torch.manual_seed(0)
    embed = nn.Embedding(tokenizer.vocab_size, config.n_embd)
    with torch.no_grad():
        theirs(embed(ids))
    maps = theirs.weights[0]  # (n_head, T, T)
    assert torch.all(maps.triu(diagonal=1) == 0), "causal: no head looks ahead"

    fig, axes = plt.subplots(1, config.n_head, figsize=(14, 3.8))
    for h, ax in enumerate(axes):
        ax.imshow(maps[h], cmap="viridis")
        ax.set_xticks(range(len(line)), list(line))
        ax.set_yticks(range(len(line)), list(line))
        ax.set_title(f"head {h}")
    plt.show()
    """),
    md("""
    ## Recap

    - Averaging the past three ways (loop, lower-triangular matrix, softmax of masked zeros) gives the same
      numbers; the last form is the skeleton of attention.
    - Attention: scores `q·k`, divided by **`sqrt(head_size)`**, future masked to `-inf`, softmax, weighted sum of
      values `v`. Rows sum to 1; the future has no influence (asserted).
    - Without the scale, score variance is `head_size` and softmax is nearly one-hot; with `sqrt(n_embd)` (the
      famous bug) it is `head_size / n_embd`, too flat. Measured above.
    - Multi-head = several smaller heads side by side, concatenated and projected. Our hand-built version equals
      `helpers`' `CausalSelfAttention` with its weights copied in (drift check).

    ## Exercise

    Write `attention(q, k, v)` for one head: inputs of shape `(B, T, head_size)`, output the causal, scaled
    attention of shape `(B, T, head_size)`.
    """),
    code("""
    from helpers.exercises.nb03 import check_attention

    def attention(q, k, v):
        ...  # your code here

    check_attention(attention)
    """),
    solution_cell(solution_attention),
    code("""
    from helpers.exercises.nb03 import solution_attention

    assert check_attention(solution_attention)

    def attention_with_the_famous_bug(q, k, v):  # divides by sqrt(n_embd) of a 4-head model
        T, n_embd = q.size(-2), 4 * q.size(-1)
        scores = (q @ k.transpose(-2, -1) / math.sqrt(n_embd)).masked_fill(~torch.tril(torch.ones(T, T, dtype=torch.bool)), float("-inf"))
        return scores.softmax(dim=-1) @ v

    assert not check_attention(attention_with_the_famous_bug)
    """),
]

if __name__ == "__main__":
    write_notebook(FILENAME, TITLE, CELLS)
