"""Builds notebooks/08_finetuning_and_next.ipynb: fine-tune on one character's lines, then what comes next."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for helpers.exercises

from nb_build import code, md, solution_cell, write_notebook
from helpers.exercises.nb08 import solution_top_speakers

TITLE = """
# 08 · Fine-tuning, and what comes next

Notebook 05 *pre-trained* a model: next-character prediction on all of Shakespeare. *Fine-tuning* is the
same training, continued from those weights, on a smaller and more specific text, usually with a lower
learning rate and far fewer steps. Here we fine-tune the trained model on one character's lines, offline in
this notebook, and compare it before and after. Then, following the talk, what separates this from the
models you use every day.
"""

CELLS = [
    md("""
    ## The pre-trained model

    `trained_model` loads notebook 05's best checkpoint (and trains one if there is none). We keep an
    untouched copy, to compare with after fine-tuning.
    """),
    code("""
    import copy
    import math

    import torch
    from torch.nn import functional as F

    from helpers import Corpus, GPT, TrainConfig, Trainer, load_model, sample_text, smoke_mode
    from helpers.colab import run_dir
    from helpers.live import LiveLossPlot
    from helpers.notebook import trained_model

    model, tokenizer = trained_model(device)
    pretrained = copy.deepcopy(model).eval()
    corpus = Corpus.load()
    """),
    md("""
    ## One character's lines

    In the corpus a speech is a block of lines that starts with the speaker's name and a colon, and ends at
    a blank line. We collect every speech of **ROMEO**, speaker line included, so the model also sees whose
    turn it is.
    """),
    code("""
    CHARACTER = "ROMEO"

    def speeches_of(text, name):
        \"\"\"Every speech of `name`: the blocks between blank lines that start with 'NAME:'.\"\"\"
        return [block for block in text.split("\\n\\n") if block.startswith(name + ":\\n")]

    speeches = speeches_of(corpus.text, CHARACTER)
    romeo_text = "\\n\\n".join(speeches) + "\\n\\n"
    print(f"{len(speeches)} speeches, {len(romeo_text):,} characters ({len(romeo_text) / len(corpus.text):.1%} of the corpus)\\n")
    print(speeches[0][:300])
    assert len(speeches) > 100 and all(s.startswith("ROMEO:\\n") for s in speeches)
    """),
    md("""
    Fine-tuning data goes through the same pipeline as the pre-training data, with one rule: the **same
    tokenizer** (the model's 65 ids must keep their meaning), so we encode with the trained model's
    tokenizer rather than building a new one. Then a 90/10 split, so we can tell learning Romeo's style
    from memorising his lines.
    """),
    code("""
    data = torch.tensor(tokenizer.encode(romeo_text), dtype=torch.long)
    n_train = int(0.9 * len(data))
    romeo_train, romeo_val = data[:n_train], data[n_train:]
    print(f"train {len(romeo_train):,} tokens, val {len(romeo_val):,} tokens")
    """),
    code("""
    # drift check: matches helpers — our fine-tuning data is Corpus.from_tokenizer's
    romeo = Corpus.from_tokenizer(romeo_text, tokenizer)
    assert torch.equal(romeo.train, romeo_train) and torch.equal(romeo.val, romeo_val)
    assert romeo.tokenizer.chars == tokenizer.chars
    print("Corpus.from_tokenizer gives the same tokens and split")
    """),
    md("""
    ## Loss on Romeo's held-out lines, before

    To compare before and after fairly we use a loss with no randomness: the mean over *every* window of
    the held-out text, one after the other (not random batches).
    """),
    code("""
    @torch.no_grad()
    def full_loss(model, tokens, max_tokens=20_000):
        \"\"\"Mean next-character loss over consecutive windows of `tokens` (the first `max_tokens` of them).\"\"\"
        model.eval()
        T = model.config.block_size
        tokens = tokens[: max_tokens + 1].to(next(model.parameters()).device)
        starts = range(0, len(tokens) - T - 1, T)
        x = torch.stack([tokens[s : s + T] for s in starts])
        y = torch.stack([tokens[s + 1 : s + T + 1] for s in starts])
        losses = [model(xb, yb)[1] for xb, yb in zip(x.split(64), y.split(64))]
        return float(sum(l * len(xb) for l, xb in zip(losses, x.split(64))) / len(x))

    before = {"Romeo val": full_loss(pretrained, romeo_val), "all val": full_loss(pretrained, corpus.val)}
    print({k: round(v, 4) for k, v in before.items()})
    """),
    md("""
    ## Fine-tuning

    The same `Trainer` as in notebook 05, on the Romeo corpus, starting from the trained weights. A learning
    rate 10–20× lower than pre-training (the model is already good; big steps would wreck what it knows), a
    short warm-up, and few steps: Romeo's 23,000 training characters are so few that a few hundred steps
    would memorise them (val loss rising from the start: notebook 05's overfitting again). The best
    checkpoint (lowest Romeo val loss) is kept as always.
    """),
    code("""
    smoke = smoke_mode()
    FINETUNE_RUN = run_dir("finetune-smoke" if smoke else "finetune")
    (FINETUNE_RUN / "metrics.jsonl").unlink(missing_ok=True)  # a fresh fine-tune each time
    finetune_cfg = TrainConfig(
        batch_size=16 if smoke else max(4, 1024 // model.config.block_size),  # about 1,000 tokens a step
        max_iters=30 if smoke else 60, learning_rate=1e-3 if smoke else 1e-4, min_lr=1e-4 if smoke else 1e-5,
        warmup_iters=5, eval_interval=10, eval_iters=4 if smoke else 20, device=device, out_dir=str(FINETUNE_RUN),
    )
    history = Trainer(model, romeo, finetune_cfg, callbacks=[LiveLossPlot(label=f"fine-tune on {CHARACTER}")]).fit()
    finetuned, _ = load_model(FINETUNE_RUN, device)  # the best checkpoint
    """),
    code("""
    after = {"Romeo val": full_loss(finetuned, romeo_val), "all val": full_loss(finetuned, corpus.val)}
    for key in before:
        print(f"{key:>10}: before {before[key]:.4f}  after {after[key]:.4f}  ({after[key] - before[key]:+.4f})")
    assert after["Romeo val"] < before["Romeo val"]  # fine-tuning lowered the loss on Romeo's unseen lines
    """),
    md("""
    The loss on Romeo's *held-out* lines went down: the model moved towards his vocabulary and rhythm, not
    only towards the lines it trained on. On the rest of Shakespeare the loss usually moves the other way a
    little: fine-tuning trades some generality for the target (*forgetting*); a low learning rate and few
    steps keep that small.

    ## Samples, before and after

    The same prompt and the same random seed, so the only difference is the weights.
    """),
    code("""
    prompt = "ROMEO:\\n"
    for name, m in (("before (pre-trained)", pretrained), (f"after (fine-tuned on {CHARACTER})", finetuned)):
        print(f"── {name} " + "─" * 40)
        print(sample_text(m, tokenizer, prompt, max_new_tokens=300, temperature=0.8, seed=0), "\\n")
    """),
    md("""
    Whose turn is it? After a blank line the model must pick the next speaker. The fine-tuned model has only
    ever seen Romeo speak, so it should expect him:
    """),
    code("""
    @torch.no_grad()
    def prob_of(model, context, continuation):
        \"\"\"Probability that `model` continues `context` with exactly `continuation`.\"\"\"
        ids = tokenizer.encode(context + continuation)
        x = torch.tensor([ids[:-1]], device=device)[:, -model.config.block_size:]
        logp = F.log_softmax(model(x)[0][0].float(), dim=-1)
        steps = range(len(ids) - len(continuation) - 1, len(ids) - 1)
        offset = len(ids) - 1 - x.size(1)  # positions cropped off the front
        return math.exp(sum(logp[i - offset, ids[i + 1]].item() for i in steps))

    context = speeches_of(corpus.text, "JULIET")[0] + "\\n\\n"
    p_romeo = {name: prob_of(m, context, "ROMEO:") for name, m in (("before", pretrained), ("after", finetuned))}
    for name, p in p_romeo.items():
        print(f"{name:>6}: P(next speaker is 'ROMEO:') = {p:.2e}")
    assert p_romeo["after"] > p_romeo["before"]
    """),
    md("""
    ## What comes next

    Our model and the ones behind today's assistants share the architecture: a decoder-only transformer that
    predicts the next token, trained with AdamW on a warm-up + cosine schedule. The talk's point is where the
    difference comes from:

    > *"The pre-training is very similar... it's the fine-tuning and post-training... that actually makes
    > the big difference in performances."*

    - **Better data.** Quality drives performance more than anything else in the recipe. Large models
      pre-train on trillions of tokens of filtered, de-duplicated text and code, with sub-word (BPE) tokens
      instead of characters: fewer, more meaningful tokens per sentence, so the same context holds more.
    - **Post-training.** What we just did, on other data. *Supervised fine-tuning* continues training on
      examples of the behaviour wanted (questions and good answers, instead of Romeo's lines); *preference
      tuning* (RLHF, DPO) then nudges the model towards answers people rate higher. Same loop, different
      data and loss; this is where an assistant is made out of a text predictor.
    - **Reasoning tokens.** *"Reasoning is essentially just adding to the context of the model"*: the model
      writes intermediate steps first, and because attention lets every later token look at them, the final
      answer gets better. Teaching it to do that well takes curated *chain-of-thought* data, often written or
      checked by experts.
    - **Other modalities.** Audio, images and video enter the same transformer through *encoders* that turn
      them into sequences of vectors, the same kind of thing our token embeddings produce. From there, it is
      attention over a sequence, as in notebook 03.
    - **Scale.** Longer contexts and bigger models need the memory arithmetic of notebook 07, fused kernels,
      mixed precision and many GPUs, but not a different idea.

    ## Recap

    - Fine-tuning = the same training loop, started from pre-trained weights, on specific data, with a lower
      learning rate and few steps; the same tokenizer (drift check: our data equals `Corpus.from_tokenizer`).
    - It lowered the loss on Romeo's held-out lines (asserted) and made "ROMEO:" the expected next speaker;
      it can cost a little on everything else (forgetting).
    - Modern assistants add better data, post-training (SFT, preference tuning), reasoning tokens and
      encoders for other modalities on top of the same kind of model.

    ## Exercise: who speaks most?

    To fine-tune on another character, you need to know who has enough lines. Write `top_speakers(text, n)`:
    the `n` characters with the most speeches, as `[(name, count), ...]`, most first. A speech starts with a
    line that holds only the name and a colon (names can have spaces: `First Citizen:`). Then pick another
    character, set `CHARACTER`, and re-run the notebook.
    """),
    code("""
    from helpers.exercises.nb08 import check_top_speakers

    def top_speakers(text, n):
        return []  # your code here

    check_top_speakers(top_speakers, corpus.text)
    """),
    solution_cell(solution_top_speakers),
    md("The cell below makes sure the checker itself works: it accepts the solution and rejects a wrong answer."),
    code("""
    from helpers.exercises.nb08 import solution_top_speakers

    assert check_top_speakers(solution_top_speakers, corpus.text)
    assert not check_top_speakers(lambda text, n: [("ROMEO", 1)] * n, corpus.text)
    print(solution_top_speakers(corpus.text, 5))
    """),
]

if __name__ == "__main__":
    write_notebook("08_finetuning_and_next.ipynb", TITLE, CELLS)
