"""Builds notebooks/04_transformer.ipynb: MLP, residuals, LayerNorm, the block, the whole GPT, its size."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nb_build import code, md, solution_cell, write_notebook
from helpers.exercises.nb04 import solution_count_params

FILENAME = "04_transformer.ipynb"
TITLE = """
# 04 · The transformer: from attention to a whole GPT

Attention lets positions talk to each other. A transformer **block** adds three things around it: an MLP that
lets each position think about what it gathered, **residual connections** that keep a deep stack trainable, and
**LayerNorm** that keeps the numbers in a sane range. Stack blocks between an embedding and an output layer and
you have a GPT. At the end we count its parameters and see where they live.
"""

CELLS = [
    code("""
    import math

    import matplotlib.pyplot as plt
    import torch
    import torch.nn as nn
    from torch.nn import functional as F

    from helpers import GPTConfig
    from helpers.model import CausalSelfAttention  # built and checked in notebook 03

    torch.manual_seed(1337)
    config = GPTConfig(vocab_size=65, block_size=32, n_layer=2, n_head=4, n_embd=64, dropout=0.0)
    """),
    md("""
    ## The MLP: thinking per position

    Attention *gathers* information from other positions; the MLP (multi-layer perceptron, or feed-forward
    layer) then *processes* it, at each position on its own: widen to `4 × n_embd`, apply a non-linearity (GELU,
    a smooth ReLU), project back to `n_embd`. Dropout randomly zeroes some outputs while training, against
    overfitting.
    """),
    code("""
    class MLP(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd)
            self.gelu = nn.GELU()
            self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd)
            self.dropout = nn.Dropout(config.dropout)

        def forward(self, x):
            return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))

    x = torch.randn(2, 8, config.n_embd)
    print(MLP(config)(x).shape, "(the same shape in as out: blocks can be stacked)")
    """),
    md("""
    ## LayerNorm: keeping the numbers in range

    Pass a vector through many layers and its scale drifts: it shrinks towards zero or blows up, and training
    stalls. **LayerNorm** rescales each position's vector to mean 0 and standard deviation 1, then applies a
    learned scale and shift (so the network can undo it where useful). By hand, and compared with PyTorch's:
    """),
    code("""
    def layer_norm(x, weight, bias, eps=1e-5):
        mean = x.mean(dim=-1, keepdim=True)
        var = x.var(dim=-1, keepdim=True, unbiased=False)
        return (x - mean) / torch.sqrt(var + eps) * weight + bias

    ln = nn.LayerNorm(config.n_embd)
    x = 3 + 5 * torch.randn(2, 8, config.n_embd)
    y = layer_norm(x, ln.weight, ln.bias)
    torch.testing.assert_close(y, ln(x))
    print(f"before: mean {x.mean():.2f}, std {x.std():.2f}; after: mean {y.mean():.2f}, std {y.std():.2f}")
    """),
    md("Twelve random linear layers in a row, with and without LayerNorm after each: how big are the activations?"),
    code("""
    torch.manual_seed(0)
    layers = [nn.Linear(64, 64) for _ in range(12)]
    norms = [nn.LayerNorm(64) for _ in range(12)]
    plain = normed = torch.randn(32, 64)
    plain_stds, normed_stds = [], []
    with torch.no_grad():
        for layer, norm in zip(layers, norms):
            plain, normed = layer(plain), norm(layer(normed))
            plain_stds.append(plain.std().item())
            normed_stds.append(normed.std().item())
    plt.figure(figsize=(6, 2.5))
    plt.plot(range(1, 13), plain_stds, "o-", label="no LayerNorm")
    plt.plot(range(1, 13), normed_stds, "o-", label="LayerNorm")
    plt.xlabel("layer")
    plt.ylabel("std of activations")
    plt.legend()
    plt.show()
    print(f"after 12 layers: std {plain_stds[-1]:.3f} without LayerNorm, {normed_stds[-1]:.3f} with")
    assert plain_stds[-1] < 0.2 and abs(normed_stds[-1] - 1) < 0.05
    """),
    md("""
    ## Residual connections: a highway for the gradient

    Instead of `x = f(x)`, each sub-layer does `x = x + f(x)`: it adds a correction to what flows through. During
    backpropagation the `+` passes the gradient straight through, so even the first layers of a deep stack get a
    useful signal. Twelve small layers, with and without the residual `+`, and the size of the gradient that
    arrives back at the input:
    """),
    code("""
    torch.manual_seed(0)
    stack = [nn.Sequential(nn.Linear(64, 64), nn.Tanh()) for _ in range(12)]

    def input_gradient(residual):
        x = torch.randn(32, 64, requires_grad=True)
        h = x
        for layer in stack:
            h = h + layer(h) if residual else layer(h)
        h.sum().backward()
        return x.grad.norm().item()

    without, with_residual = input_gradient(False), input_gradient(True)
    print(f"gradient at the input: {without:.3f} without residuals, {with_residual:.1f} with")
    assert with_residual > 100 * without
    """),
    md("""
    ## The block

    GPT-2's block (pre-LayerNorm): normalise, attend, add back; normalise, think, add back.

    ```
    x = x + attention(layer_norm_1(x))   # communicate
    x = x + mlp(layer_norm_2(x))         # compute
    ```

    The attention is `helpers`' `CausalSelfAttention` from notebook 03; the MLP is ours.
    """),
    code("""
    class Block(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.ln_1 = nn.LayerNorm(config.n_embd)
            self.attn = CausalSelfAttention(config)
            self.ln_2 = nn.LayerNorm(config.n_embd)
            self.mlp = MLP(config)

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            x = x + self.mlp(self.ln_2(x))
            return x
    """),
    md("Drift check: `helpers.model.Block` has the same parts under the same names, so its weights load into ours one to one."),
    code("""
    # drift check: matches helpers
    from helpers.model import Block as HelpersBlock

    theirs, ours = HelpersBlock(config).eval(), Block(config).eval()
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(3, config.block_size, config.n_embd)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x))
    print("our Block = helpers' Block")
    """),
    md("""
    ## The whole GPT

    - **Token embedding** `wte`: a learned vector of `n_embd` numbers per character (a wider version of the
      bigram's table).
    - **Position embedding** `wpe`: a learned vector per position `0…block_size-1`, added, because attention by
      itself does not know the order of things.
    - `n_layer` blocks, a final LayerNorm, and the **head** `lm_head`: a linear layer from `n_embd` to 65
      logits, one per next character.
    - **Weight tying**: the head reuses the token-embedding matrix (GPT-2 does this). Reading a character and
      writing it use the same vectors, and it saves `65 × n_embd` parameters.
    """),
    code("""
    from helpers.model import Block  # checked above: from here on, helpers' Block

    class MyGPT(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.config = config
            self.transformer = nn.ModuleDict(dict(
                wte=nn.Embedding(config.vocab_size, config.n_embd),
                wpe=nn.Embedding(config.block_size, config.n_embd),
                drop=nn.Dropout(config.dropout),
                h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
                ln_f=nn.LayerNorm(config.n_embd),
            ))
            self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
            self.transformer.wte.weight = self.lm_head.weight  # weight tying

        def forward(self, idx, targets=None):
            T = idx.size(1)
            x = self.transformer.wte(idx) + self.transformer.wpe(torch.arange(T, device=idx.device))
            x = self.transformer.drop(x)
            for block in self.transformer.h:
                x = block(x)
            logits = self.lm_head(self.transformer.ln_f(x))
            loss = None if targets is None else F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1))
            return logits, loss
    """),
    md("""
    `helpers.GPT` is the same network, plus GPT-2's careful initialisation (small random weights, and residual
    projections scaled down by depth) and a few conveniences. Drift check on real data: its weights in, the same
    logits and the same loss out.
    """),
    code("""
    # drift check: matches helpers
    from helpers import GPT, Corpus

    corpus = Corpus.load()
    xb, yb = corpus.batch("train", batch_size=8, block_size=config.block_size)
    reference = GPT(config).eval()
    mine = MyGPT(config).eval()
    mine.load_state_dict(reference.state_dict())
    with torch.no_grad():
        (my_logits, my_loss), (ref_logits, ref_loss) = mine(xb, yb), reference(xb, yb)
    torch.testing.assert_close(my_logits, ref_logits)
    torch.testing.assert_close(my_loss, ref_loss)
    print(f"MyGPT = helpers.GPT: same logits, same loss ({ref_loss.item():.4f})")
    """),
    md("""
    Thanks to the small initial weights, the untrained GPT starts where a uniform guess does: loss ≈ ln(65) ≈
    4.17 (notebook 02). And its output is, for now, noise.
    """),
    code("""
    from helpers import sample_text

    print(f"first loss {ref_loss.item():.3f} vs ln(65) = {math.log(65):.3f}")
    assert abs(ref_loss.item() - math.log(65)) < 0.1
    print(sample_text(reference, corpus.tokenizer, "ROMEO:", max_new_tokens=80, seed=0))
    """),
    md("""
    ## How big is the reference model?

    The workshop's full-size model: 6 layers, 6 heads, 384 wide, a context of 256 characters. The talk's summary
    says "1.8M parameters". Let us count.
    """),
    code("""
    reference_config = GPTConfig(vocab_size=65, block_size=256, n_layer=6, n_head=6, n_embd=384)
    big = GPT(reference_config)
    n_params = big.num_params()
    print(f"{n_params:,} parameters")
    assert 10.7e6 < n_params < 10.8e6, "the 6×384 model has about 10.77M parameters, not 1.8M"
    """),
    md("Where do they live? Grouped by component (the tied head shares the token embedding's matrix, so it is counted once):"),
    code("""
    def component(name):
        if name.startswith("transformer.h."):
            part = name.split(".")[3]  # ln_1 / attn / ln_2 / mlp
            return {"ln_1": "blocks: LayerNorms", "ln_2": "blocks: LayerNorms"}.get(part, f"blocks: {part}")
        return {"transformer.wte.weight": "token embedding (= tied head)", "transformer.wpe.weight": "position embedding"}.get(
            name, "final LayerNorm")

    table = {}
    for name, p in big.named_parameters():  # named_parameters() lists the tied matrix once
        table[component(name)] = table.get(component(name), 0) + p.numel()

    print(f"{'component':<32}{'parameters':>12}{'share':>8}")
    for name, count in table.items():
        print(f"{name:<32}{count:>12,}{count / n_params:>8.1%}")
    print(f"{'total':<32}{sum(table.values()):>12,}")
    assert sum(table.values()) == n_params
    """),
    code("""
    one_block = sum(p.numel() for p in big.transformer.h[0].parameters())
    C = reference_config.n_embd
    print(f"one block: {one_block:,} parameters = 12·C² + 13·C with C = {C}: {12 * C * C + 13 * C:,}")
    print(f"6 blocks: {6 * one_block:,} = {6 * one_block / n_params:.1%} of the model")
    assert one_block == 12 * C * C + 13 * C
    assert 1.7e6 < one_block < 1.8e6
    assert round(6 * one_block / n_params, 3) == 0.988  # the share quoted below
    """),
    md("""
    Almost everything (98.8%) is in the blocks, and in each block the MLP holds two thirds (`8·C²`) and attention
    one third (`4·C²`). Embeddings are tiny because the vocabulary is only 65 characters (with GPT-2's 50,257 BPE
    tokens the embedding alone would be 19.3M). A rule of thumb follows: parameters ≈ `12 · n_layer · n_embd²`.

    And the "1.8M"? It matches **one** block (1.77M), not the model: whatever the talk's count was based on, the
    6-layer model has six of them, about 10.77M in all.

    ## Recap

    - **MLP**: per position, widen 4×, GELU, project back.
    - **LayerNorm** keeps each position's vector at mean 0, std 1 (12 plain layers let it shrink; measured).
    - **Residual connections** (`x + f(x)`) carry the gradient through deep stacks (measured: >100× more
      gradient reaches the input).
    - **Block** = `x + attn(ln_1(x))`, then `x + mlp(ln_2(x))`. **GPT** = token + position embeddings → blocks →
      LayerNorm → tied head. Ours equals `helpers.GPT` (drift checks on the block and the whole model).
    - The reference 6×384 model has **≈10.77M parameters**, 98.8% of them in the blocks; 1.8M is one block.

    ## Exercise

    Write `count_params(cfg)` that predicts `GPT(cfg).num_params()` from a `GPTConfig` without building the model
    (`cfg.bias` says whether Linear layers and LayerNorms have biases).
    """),
    code("""
    from helpers.exercises.nb04 import check_count_params

    def count_params(cfg):
        ...  # your code here

    check_count_params(count_params)
    """),
    solution_cell(solution_count_params),
    code("""
    from helpers.exercises.nb04 import solution_count_params

    assert check_count_params(solution_count_params)
    assert solution_count_params(reference_config) == n_params
    assert not check_count_params(lambda cfg: 12 * cfg.n_layer * cfg.n_embd**2)  # the rule of thumb is not exact
    """),
]

if __name__ == "__main__":
    write_notebook(FILENAME, TITLE, CELLS)
