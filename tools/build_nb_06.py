"""Builds notebooks/06_sampling.ipynb: greedy, temperature, top-k, top-p, and the playground."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for helpers.exercises

from nb_build import code, md, solution_cell, write_notebook
from helpers.exercises.nb06 import solution_min_p_filter

TITLE = """
# 06 · Sampling

The trained model does not write text. For a context it gives one score (a *logit*) per character of the
vocabulary: how likely that character is to come next. Turning those 65 scores into one chosen character,
again and again, is *sampling*, and how we do it changes what the text reads like as much as training does.
This notebook builds greedy decoding, temperature, top-k and top-p by hand and looks at what each does to
the next-character distribution.
"""

CELLS = [
    md("""
    ## The trained model

    `trained_model` loads the best checkpoint that notebook 05 saved (`runs/notebook`), and trains one first
    if there is none, so this notebook also runs on its own.
    """),
    code("""
    import math

    import matplotlib.pyplot as plt
    import torch
    from torch.nn import functional as F

    from helpers import next_token_probs, sample_text
    from helpers.notebook import trained_model

    model, tokenizer = trained_model(device)
    PROMPT = "ROMEO:\\nBut soft, what light through yonder window "

    @torch.no_grad()
    def next_logits(text):
        \"\"\"The model's 65 scores for the character after `text`.\"\"\"
        idx = torch.tensor([tokenizer.encode(text)], device=device)[:, -model.config.block_size:]
        return model(idx)[0][0, -1].float().cpu()

    logits = next_logits(PROMPT)
    print(f"{logits.shape[0]} logits, from {logits.min():.2f} to {logits.max():.2f}")
    """),
    md("""
    ## From logits to probabilities: softmax

    Softmax makes the scores positive (`exp`) and makes them sum to 1 (divide by the total). Subtracting the
    largest logit first changes nothing in the result but keeps `exp` from overflowing.
    """),
    code("""
    def my_softmax(logits):
        e = (logits - logits.max()).exp()
        return e / e.sum()

    def show(probs, title, ax, top=15):
        \"\"\"Bar chart of the `top` likeliest next characters.\"\"\"
        values, ids = probs.topk(top)
        ax.bar([repr(tokenizer.decode([i]))[1:-1] for i in ids.tolist()], values.tolist())
        ax.set_title(f"{title}\\n{int((probs > 0).sum())} of {len(probs)} characters possible", fontsize=10)
        ax.set_ylim(0, 1)

    probs = my_softmax(logits)
    fig, ax = plt.subplots(figsize=(8, 3))
    show(probs, f"next character after {PROMPT[-20:]!r}", ax)
    plt.show()
    assert math.isclose(probs.sum().item(), 1.0, rel_tol=1e-5)
    """),
    md("""
    ## Greedy: always the likeliest character

    The simplest choice is the top bar, every time (`argmax`). It is deterministic, and it is boring: the
    talk's point is that greedy text tends to fall into loops, repeating the same likely phrase, because the
    same context always gives the same choice.
    """),
    code("""
    def my_generate(prompt, n, pick):
        \"\"\"Append `n` characters, each chosen by `pick(logits)` from the model's scores.\"\"\"
        text = prompt
        for _ in range(n):
            text += tokenizer.decode([pick(next_logits(text))])
        return text

    greedy = lambda logits: int(logits.argmax())
    greedy_text = my_generate(PROMPT, 200, greedy)
    print(greedy_text)
    """),
    md("""
    ## Temperature: sharper or flatter

    Divide the logits by a temperature `T` before the softmax. `T < 1` stretches the gaps between scores, so
    the likely characters get likelier (more careful text); `T > 1` shrinks them (wilder text); `T → 0`
    becomes greedy. The talk suggests **0.7**. The *entropy* (in bits) measures how spread out a distribution
    is: 0 bits means one certain choice.
    """),
    code("""
    def with_temperature(logits, temperature):
        return my_softmax(logits / temperature)

    def entropy_bits(probs):
        p = probs[probs > 0]
        return float(-(p * p.log2()).sum())

    temperatures = (0.7, 1.0, 1.5)
    fig, axes = plt.subplots(1, 3, figsize=(14, 3), sharey=True)
    for ax, t in zip(axes, temperatures):
        p = with_temperature(logits, t)
        show(p, f"T = {t}: {entropy_bits(p):.2f} bits", ax)
    plt.show()
    spread = [entropy_bits(with_temperature(logits, t)) for t in temperatures]
    assert spread == sorted(spread)  # lower temperature, more certain: always
    """),
    md("""
    ## Top-k and top-p: cut off the unlikely tail

    Even at `T = 0.7`, the 50 unlikely characters together can get picked now and then, and one bad character
    can derail a word. Two ways to cut the tail off before sampling:

    - **top-k** keeps the `k` likeliest characters and sets the rest to zero (logit `-inf`);
    - **top-p** (nucleus sampling) keeps the smallest set of likeliest characters whose probabilities add up
      to at least `p`: few when the model is sure, many when it is not.

    Both renormalise what is left so it sums to 1.
    """),
    code("""
    def top_k(logits, k):
        kth_best = logits.topk(k).values[-1]
        return my_softmax(logits.masked_fill(logits < kth_best, float("-inf")))

    def top_p(logits, p):
        probs = my_softmax(logits)
        sorted_probs, order = probs.sort(descending=True)
        mass_before = sorted_probs.cumsum(0) - sorted_probs  # mass of the likelier characters
        sorted_probs[mass_before >= p] = 0.0  # already p without this one: drop it
        kept = torch.zeros_like(probs).scatter(0, order, sorted_probs)
        return kept / kept.sum()

    kept_k = top_k(logits, 5)
    kept_p = top_p(logits, 0.9)
    assert int((kept_k > 0).sum()) == 5
    assert my_softmax(logits)[kept_p > 0].sum() >= 0.9  # the kept characters carry at least p
    print(f"top-k=5 keeps 5 characters; top-p=0.9 keeps {int((kept_p > 0).sum())} here")
    """),
    md("""
    We built each rule by hand; the drift check compares them with `helpers.next_token_probs` (temperature 0
    is greedy there), and our greedy loop with `helpers.generate` at temperature 0: same weights in, same
    text out.
    """),
    code("""
    # drift check: matches helpers
    from torch.testing import assert_close

    assert_close(my_softmax(logits), next_token_probs(logits))
    assert_close(with_temperature(logits, 0.7), next_token_probs(logits, temperature=0.7))
    assert_close(top_k(logits, 5), next_token_probs(logits, top_k=5))
    assert_close(top_p(logits, 0.9), next_token_probs(logits, top_p=0.9))
    assert_close(top_k(logits / 0.7, 10), next_token_probs(logits, temperature=0.7, top_k=10))
    assert torch.equal(next_token_probs(logits, temperature=0), F.one_hot(logits.argmax(), 65).float())
    assert sample_text(model, tokenizer, PROMPT, 200, temperature=0) == greedy_text
    print("softmax, temperature, top-k, top-p and greedy decoding all match helpers")
    """),
    md("""
    ## The four settings side by side

    From here on `helpers.next_token_probs` and `helpers.sample_text` do the work. The same logits, four rules:
    """),
    code("""
    settings = {
        "greedy (T = 0)": dict(temperature=0),
        "T = 0.7": dict(temperature=0.7),
        "top-k = 5": dict(temperature=1.0, top_k=5),
        "top-p = 0.9": dict(temperature=1.0, top_p=0.9),
    }
    fig, axes = plt.subplots(1, 4, figsize=(18, 3), sharey=True)
    for ax, (name, s) in zip(axes, settings.items()):
        show(next_token_probs(logits, **s), name, ax, top=10)
    plt.show()

    greedy_probs = next_token_probs(logits, temperature=0)
    assert greedy_probs.argmax() == logits.argmax() and greedy_probs.max() == 1.0  # greedy picks the argmax
    assert int((next_token_probs(logits, top_k=5) > 0).sum()) == 5  # top-k leaves exactly k
    """),
    md("""
    And what the text reads like under each (the same `seed`, so re-running gives the same text):
    """),
    code("""
    for name, s in settings.items():
        print(f"── {name} " + "─" * 40)
        print(sample_text(model, tokenizer, "ROMEO:", max_new_tokens=200, seed=0, **s), "\\n")
    """),
    md("""
    ## The playground

    Move the sliders and press **Generate**: the prompt, the temperature, top-k and top-p, and the number of
    characters. The bar chart shows the next-character distribution for your settings.
    """),
    code("""
    from helpers.widgets import sampling_playground

    sampling_playground(model, tokenizer)
    """),
    md("""
    ## What the model looks at

    Each choice above rests on attention (notebook 03): for every position, every head of every layer
    spreads its weights over the characters before it. Pick a layer and a head and see where the trained
    model looks while reading a prompt of your own.
    """),
    code("""
    from helpers.widgets import attention_explorer

    attention_explorer(model, tokenizer, prompt="ROMEO:\\nBut soft, what light")
    """),
    md("""
    ## Recap

    - The model gives **logits**; softmax turns them into probabilities for the next character.
    - **Greedy** takes the argmax: deterministic and prone to loops.
    - **Temperature** divides the logits: below 1 sharper, above 1 flatter (entropy rises with T).
    - **Top-k** keeps the k likeliest; **top-p** keeps the smallest set with probability mass ≥ p.
    - Ours match `helpers.next_token_probs` and `helpers.generate` (drift check passed).

    ## Exercise: min-p sampling

    A newer rule, *min-p*, keeps every character whose probability is at least `min_p` times that of the
    likeliest one (like top-p it adapts: a confident model keeps few). Write `min_p_filter(probs, min_p)` that
    zeroes the rest and renormalises.
    """),
    code("""
    from helpers.exercises.nb06 import check_min_p

    def min_p_filter(probs, min_p):
        return probs  # your code here

    check_min_p(min_p_filter)
    """),
    solution_cell(solution_min_p_filter),
    md("The cell below makes sure the checker itself works: it accepts the solution and rejects a wrong answer."),
    code("""
    from helpers.exercises.nb06 import solution_min_p_filter

    assert check_min_p(solution_min_p_filter)
    assert not check_min_p(lambda probs, min_p: probs)
    kept = solution_min_p_filter(next_token_probs(logits), 0.1)
    print(f"min-p = 0.1 keeps {int((kept > 0).sum())} characters after {PROMPT[-20:]!r}")
    """),
]

if __name__ == "__main__":
    write_notebook("06_sampling.ipynb", TITLE, CELLS)
