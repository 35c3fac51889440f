"""Builds notebooks/07_scaling.ipynb: parameters vs width/depth, attention's T² memory and time, the fused kernel."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for helpers.exercises

from nb_build import code, md, solution_cell, write_notebook
from helpers.exercises.nb07 import solution_max_block_size

TITLE = """
# 07 · Scaling

Bigger models and longer contexts write better text, so why not set `n_embd=4096` and `block_size=32768`
and train? The talk's warning: scaling *"requires architectural changes, not just changing a variable, to
prevent memory crashes"*. This notebook counts what grows, and how fast: parameters with width and depth,
and attention's memory and time with the context length, measured here and **predicted before allocating**.
"""

CELLS = [
    md("""
    ## Parameters vs width and depth

    Notebook 04 counted the parameters of the 6 × 384 model. Written as a formula in the width `C`
    (`n_embd`), one block holds:

    | piece | parameters |
    |---|---|
    | LayerNorm 1 and 2 (scale + shift) | 2 × 2C |
    | attention: q, k, v projection | 3C² + 3C |
    | attention: output projection | C² + C |
    | MLP: up to 4C, down to C | 4C² + 4C + 4C² + C |
    | **one block** | **12C² + 13C** |

    Around the blocks: the token embedding `V × C` (shared with the output head, weight tying), the position
    embedding `block_size × C`, and the final LayerNorm `2C`.
    """),
    code("""
    import math
    import os
    import time

    import matplotlib.pyplot as plt
    import torch
    from torch.nn import functional as F

    from helpers import GPT, GPTConfig, smoke_mode

    def param_count(vocab_size, block_size, n_layer, n_embd):
        C = n_embd
        per_block = 12 * C * C + 13 * C
        return vocab_size * C + block_size * C + n_layer * per_block + 2 * C

    workshop = param_count(vocab_size=65, block_size=256, n_layer=6, n_embd=384)
    print(f"6 layers × 384 wide: {workshop:,} parameters ({workshop / 1e6:.2f}M; the talk's '1.8M' is wrong)")
    """),
    md("""
    The drift check builds real `helpers` GPTs of many shapes and compares. They are built on PyTorch's
    `meta` device: shapes without memory, so even a 12 × 1024 model is counted instantly.
    """),
    code("""
    # drift check: matches helpers — the formula equals GPT.num_params() for every shape
    shapes = [(65, 256, 6, 384), (65, 64, 4, 128), (65, 32, 2, 32), (100, 1024, 12, 768), (65, 256, 24, 1024)]
    for vocab_size, block_size, n_layer, n_embd in shapes:
        with torch.device("meta"):
            gpt = GPT(GPTConfig(vocab_size=vocab_size, block_size=block_size, n_layer=n_layer, n_head=4, n_embd=n_embd))
        assert param_count(vocab_size, block_size, n_layer, n_embd) == gpt.num_params(), (n_layer, n_embd)
    assert workshop == 10_770_816
    print(f"param_count == GPT.num_params() for {len(shapes)} shapes")
    """),
    md("""
    Width counts **squared**, depth only linearly: doubling `n_embd` multiplies the blocks' parameters by
    about 4, doubling `n_layer` by 2.
    """),
    code("""
    widths, depths = [64, 128, 256, 384, 512, 768, 1024], [1, 2, 4, 6, 8, 12, 16, 24]
    fig, (ax_w, ax_d) = plt.subplots(1, 2, figsize=(11, 3.2))
    ax_w.plot(widths, [param_count(65, 256, 6, w) / 1e6 for w in widths], "o-")
    ax_w.set_xlabel("n_embd (6 layers)"); ax_w.set_ylabel("parameters (millions)"); ax_w.set_title("width: quadratic")
    ax_d.plot(depths, [param_count(65, 256, d, 384) / 1e6 for d in depths], "o-")
    ax_d.set_xlabel("n_layer (384 wide)"); ax_d.set_title("depth: linear")
    for ax in (ax_w, ax_d):
        ax.grid(alpha=0.3)
    plt.show()

    blocks = lambda n_layer, n_embd: param_count(65, 256, n_layer, n_embd) - param_count(65, 256, 0, n_embd)
    assert 3.9 < blocks(6, 768) / blocks(6, 384) < 4.0 and blocks(12, 384) / blocks(6, 384) == 2
    """),
    md("""
    ## Memory vs context length: the T² attention scores

    Parameters do not grow with the context length (only the position table, `block_size × C`, does). What
    grows is the attention inside: every head scores every query against every key, a `T × T` matrix per head
    and per sequence in the batch: `batch × n_head × T × T` numbers, 4 bytes each in fp32. Double the context
    and this quadruples.

    We can predict the size **before** allocating anything:
    """),
    code("""
    def attention_score_bytes(batch_size, n_head, block_size, dtype=torch.float32):
        \"\"\"Bytes of one layer's attention scores: batch × heads × T × T numbers.\"\"\"
        return batch_size * n_head * block_size**2 * torch.finfo(dtype).bits // 8

    B, H, HEAD = 4, 6, 64
    lengths = [64, 128, 256, 512] if smoke_mode() else [128, 256, 512, 1024, 2048]
    for T in lengths:
        predicted = attention_score_bytes(B, H, T)
        q, k = torch.randn(B, H, T, HEAD, device=device), torch.randn(B, H, T, HEAD, device=device)
        scores = q @ k.transpose(-2, -1)  # now it exists
        measured = scores.untyped_storage().nbytes()
        print(f"T = {T:5d}: predicted {predicted / 2**20:8.1f} MiB, measured {measured / 2**20:8.1f} MiB")
        assert measured == predicted
        del q, k, scores
    """),
    md("""
    ## Why "just change a variable" crashes

    During training each layer keeps its scores *and* its softmax weights for the backward pass (at least two
    `T × T` tensors per head, more with dropout). For the workshop model (batch 64, 6 heads, 6 layers) that is:
    """),
    code("""
    def training_attention_bytes(batch_size, n_head, n_layer, block_size, tensors_per_layer=2):
        return n_layer * tensors_per_layer * attention_score_bytes(batch_size, n_head, block_size)

    if device == "cuda":
        memory, what = torch.cuda.get_device_properties(0).total_memory, torch.cuda.get_device_name(0)
    else:
        memory, what = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), "this machine's RAM"
    T4 = 15 * 2**30  # what Colab's free T4 offers

    for T in (256, 512, 1024, 2048, 4096, 8192, 16384):
        need = training_attention_bytes(64, 6, 6, T)
        verdict = "fits a T4" if need < T4 else "crashes on a T4"
        print(f"block_size {T:6d}: {need / 2**30:8.1f} GiB of attention scores alone  → {verdict}")
    print(f"\\n({what}: {memory / 2**30:.0f} GiB)")
    assert training_attention_bytes(64, 6, 6, 2 * 256) == 4 * training_attention_bytes(64, 6, 6, 256)
    """),
    md("""
    At `block_size=256` the scores take about 1 GiB; at 4096 they would take about 288 GiB: the run dies with
    *CUDA out of memory* at its first step, although the model has barely more parameters. Checking the
    estimate first turns the crash into a clear message:
    """),
    code("""
    def allocate_scores(batch_size, n_head, block_size, budget_bytes):
        \"\"\"Allocate one layer's scores only if the prediction fits the budget.\"\"\"
        need = attention_score_bytes(batch_size, n_head, block_size)
        if need > budget_bytes:
            print(f"not allocating: block_size={block_size} needs {need / 2**30:.1f} GiB, "
                  f"the budget is {budget_bytes / 2**30:.1f} GiB. Lower batch_size or block_size.")
            return None
        return torch.empty(batch_size, n_head, block_size, block_size, device=device)

    budget = min(memory // 4, 2**30)  # stay far from this machine's limit
    assert allocate_scores(64, 6, 16384, budget) is None  # 384 GiB: refused, nothing allocated
    assert allocate_scores(1, 6, 256, budget) is not None
    """),
    md("""
    Memory is not the only thing: a model's shapes are fixed when it is built. The position table has
    `block_size` rows, so a model cannot read past them, and a checkpoint trained at one `block_size` does not
    load into a model built for another. Longer contexts need a new model (or a position scheme that
    extends, like RoPE) and training at that length.
    """),
    code("""
    from helpers import WorkshopError

    small = GPT(GPTConfig(block_size=32, n_layer=1, n_head=2, n_embd=32))
    try:
        small(torch.zeros(1, 64, dtype=torch.long))
    except WorkshopError as err:
        print("WorkshopError:", err)
    try:
        GPT(GPTConfig(block_size=64, n_layer=1, n_head=2, n_embd=32)).load_state_dict(small.state_dict())
    except RuntimeError as err:
        print("RuntimeError:", str(err).splitlines()[1].strip())
    """),
    md("""
    ## Time vs context length, and the fused kernel

    The readable attention of notebook 03 builds the whole score matrix, masks it, softmaxes it, and
    multiplies by the values. PyTorch's `F.scaled_dot_product_attention` computes the same result with
    *fused* kernels (FlashAttention on recent GPUs): it works through the keys in tiles and never stores the
    `T × T` matrix, so its memory grows only linearly with `T` and it is much faster on a GPU. `helpers` uses
    it when `GPTConfig(fast_attention=True)` (the default), and the readable path when you ask for heat maps.
    """),
    code("""
    def readable_attention(q, k, v):
        T = q.size(-2)
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
        causal = torch.tril(torch.ones(T, T, dtype=torch.bool, device=q.device))
        weights = F.softmax(scores.masked_fill(~causal, float("-inf")), dim=-1)
        return weights @ v

    def fused_attention(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    """),
    code("""
    # drift check: matches helpers — the readable path, the fused kernel and helpers' attention agree
    from torch.testing import assert_close

    from helpers.model import CausalSelfAttention

    q, k, v = (torch.randn(2, H, 128, HEAD) for _ in range(3))
    helpers_attention = CausalSelfAttention(GPTConfig(block_size=128, n_head=H, n_embd=H * HEAD, dropout=0.0))
    assert_close(readable_attention(q, k, v), helpers_attention.readable_attention(q, k, v))
    assert_close(fused_attention(q, k, v), readable_attention(q, k, v), atol=1e-5, rtol=1e-4)

    torch.manual_seed(0)
    fast = GPT(GPTConfig(block_size=64, n_layer=2, n_head=4, n_embd=64, dropout=0.0)).eval()
    slow = GPT(GPTConfig(block_size=64, n_layer=2, n_head=4, n_embd=64, dropout=0.0, fast_attention=False)).eval()
    slow.load_state_dict(fast.state_dict())
    idx = torch.randint(65, (2, 64))
    assert_close(fast(idx)[0], slow(idx)[0], atol=1e-5, rtol=1e-4)
    print("readable == fused == helpers, for attention and for the whole model")
    """),
    md("""
    Now the timing, on this machine's device (`device`), for growing context lengths. Timings vary from run
    to run and machine to machine, so they are shown, not asserted.
    """),
    code("""
    def seconds(fn, *args, repeats=5):
        \"\"\"Best of `repeats` runs (after one warm-up), waiting for the GPU to finish.\"\"\"
        sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
        fn(*args); sync()
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter(); fn(*args); sync()
            best = min(best, time.perf_counter() - start)
        return best

    readable_s, fused_s = [], []
    with torch.no_grad():
        for T in lengths:
            q, k, v = (torch.randn(B, H, T, HEAD, device=device) for _ in range(3))
            readable_s.append(seconds(readable_attention, q, k, v))
            fused_s.append(seconds(fused_attention, q, k, v))
            print(f"T = {T:5d}: readable {1e3 * readable_s[-1]:8.2f} ms, fused {1e3 * fused_s[-1]:8.2f} ms, "
                  f"ratio {readable_s[-1] / fused_s[-1]:.1f}×")

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.loglog(lengths, readable_s, "o-", label="readable (stores T × T)")
    ax.loglog(lengths, fused_s, "o-", label="fused scaled_dot_product_attention")
    ax.set_xlabel("context length T"); ax.set_ylabel("seconds per call"); ax.legend(); ax.grid(alpha=0.3)
    ax.set_title(f"attention time on {device}")
    plt.show()
    print(f"at T = {lengths[-1]} the fused kernel is {readable_s[-1] / fused_s[-1]:.1f}× faster here")
    """),
    md("""
    On a GPU the fused kernel also saves the memory: the peak below is measured by PyTorch's allocator (on a
    CPU there is no such counter, so this cell only runs on CUDA).
    """),
    code("""
    if device == "cuda":
        T = lengths[-1]
        q, k, v = (torch.randn(B, H, T, HEAD, device=device) for _ in range(3))
        for name, fn in (("readable", readable_attention), ("fused", fused_attention)):
            torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
            with torch.no_grad():
                fn(q, k, v)
            peak = torch.cuda.max_memory_allocated() - base
            print(f"{name:>9}: peak {peak / 2**20:8.1f} MiB (scores would be {attention_score_bytes(B, H, T) / 2**20:.1f} MiB)")
    else:
        print(f"no CUDA GPU here ({device}): peak-memory comparison skipped")
    """),
    md("""
    ## Recap

    - Parameters: `12C² + 13C` per block, plus the embeddings: width counts squared, depth linearly
      (our formula equals `GPT.num_params()`: 10,770,816 for 6 × 384).
    - Attention scores: `batch × heads × T²` numbers per layer: double the context, four times the memory.
      Predicted exactly before allocating (asserted against the measured tensor).
    - "Just change a variable" crashes: at `block_size=4096` the workshop model's scores alone need hundreds
      of GiB, and a trained checkpoint does not load into a model with a different `block_size`.
    - The fused kernel (`scaled_dot_product_attention`) gives the same numbers without storing `T × T`:
      faster, and on GPUs far less memory.

    ## Exercise: the longest context that fits

    Write `max_block_size(memory_bytes, batch_size, n_head, n_layer, bytes_per_number=4)`: the largest
    whole `T` for which the training scores (`n_layer × batch_size × n_head × T²` numbers) fit in
    `memory_bytes`.
    """),
    code("""
    from helpers.exercises.nb07 import check_max_block_size

    def max_block_size(memory_bytes, batch_size, n_head, n_layer, bytes_per_number=4):
        ...  # your code here

    check_max_block_size(max_block_size)
    """),
    solution_cell(solution_max_block_size),
    md("The cell below makes sure the checker itself works: it accepts the solution and rejects a wrong answer."),
    code("""
    from helpers.exercises.nb07 import solution_max_block_size

    assert check_max_block_size(solution_max_block_size)
    assert not check_max_block_size(lambda memory_bytes, batch_size, n_head, n_layer, bytes_per_number=4: 256)
    # the table above keeps two T × T tensors per layer: that halves the memory for each
    print(f"a T4's 15 GiB fits block_size ≤ {solution_max_block_size(T4 // 2, 64, 6, 6)} for the workshop model at batch 64")
    """),
]

if __name__ == "__main__":
    write_notebook("07_scaling.ipynb", TITLE, CELLS)
