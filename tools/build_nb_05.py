"""Builds notebooks/05_training.ipynb: AdamW, warm-up + cosine, the loop by hand, overfitting, the full run."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for helpers.exercises

from nb_build import code, md, solution_cell, write_notebook
from helpers.exercises.nb05 import solution_should_stop

TITLE = """
# 05 · Training

Notebook 04 built the GPT; its weights are still random. Training is one loop repeated thousands of times:
take a batch, measure the loss, compute gradients, nudge every weight a little downhill. This notebook
writes that loop by hand (optimizer, learning-rate schedule, the step), proves it matches `helpers.Trainer`,
then watches train and val loss live: first while a model overfits on purpose, then for the real run.
"""

CELLS = [
    md("""
    ## The data and a small model

    Earlier pieces come from `helpers`: the corpus with its 90/10 train/val split (notebook 01) and the GPT
    (notebook 04). For the hand-written parts we use a tiny GPT on the CPU, so each step takes milliseconds.
    """),
    code("""
    import copy
    import math
    import time

    import matplotlib.pyplot as plt
    import torch

    from helpers import GPT, Corpus, GPTConfig, TrainConfig, Trainer, get_preset, load_checkpoint, lr_at, smoke_mode

    corpus = Corpus.load()
    SMALL = GPTConfig(vocab_size=corpus.tokenizer.vocab_size, block_size=32, n_layer=2, n_head=4, n_embd=64, dropout=0.0)
    torch.manual_seed(1337)
    model = GPT(SMALL)
    print(f"train: {len(corpus.train):,} tokens, val: {len(corpus.val):,} tokens; model: {model.num_params():,} parameters")
    """),
    md("""
    ## The optimizer: AdamW

    Plain gradient descent moves every weight by `learning_rate × gradient`. **Adam** keeps two running
    averages per weight: of the gradient (momentum: it keeps going in a consistent direction through noisy
    batches) and of the squared gradient (each weight gets its own step size, so rarely-updated weights are
    not left behind). **AdamW** adds *weight decay*: every step, it shrinks each weight a little towards zero,
    which keeps weights small and generalises better.

    Weight decay goes on the **matrices** only (embeddings and the weights of `Linear` layers, where the model
    stores what it learned). Biases and LayerNorm scales are vectors that shift and rescale; pulling them
    towards zero would only fight LayerNorm, so they get none. The rule: 2-D or more → decay; 1-D → none.
    """),
    code("""
    def my_adamw(model, cfg, fused=False):
        \"\"\"AdamW with weight decay on the matrices (2-D and up) only. fused: one kernel for the whole update.\"\"\"
        matrices = [p for p in model.parameters() if p.dim() >= 2]
        vectors = [p for p in model.parameters() if p.dim() < 2]
        groups = [{"params": matrices, "weight_decay": cfg.weight_decay}, {"params": vectors, "weight_decay": 0.0}]
        return torch.optim.AdamW(groups, lr=cfg.learning_rate, betas=(cfg.beta1, cfg.beta2), fused=fused)

    decayed = [name for name, p in model.named_parameters() if p.dim() >= 2]
    not_decayed = [name for name, p in model.named_parameters() if p.dim() < 2]
    print(f"{len(decayed)} matrices decay, e.g. {decayed[:3]}")
    print(f"{len(not_decayed)} vectors do not, e.g. {not_decayed[:3]}")
    assert all(name.endswith(".bias") or ".ln_" in name for name in not_decayed)  # biases and LayerNorms only
    """),
    md("""
    ## The learning-rate schedule: warm-up, then cosine decay

    How big a step to take changes during training:

    - **Warm-up.** At step 0 the weights are random, gradients are large and Adam's running averages are
      still empty: a full-size step could throw the model somewhere it never recovers from. So the learning
      rate climbs linearly from almost 0 to its peak over the first `warmup_iters` steps.
    - **Cosine decay.** Far from a good solution, big steps make fast progress; close to one, big steps
      overshoot. So after the peak the rate follows half a cosine down to a floor `min_lr` (a tenth of the peak).
    """),
    code("""
    def my_lr(step, cfg):
        \"\"\"Linear warm-up to cfg.learning_rate, then half a cosine down to cfg.min_lr.\"\"\"
        decay_iters = cfg.lr_decay_iters or cfg.max_iters
        if step < cfg.warmup_iters:
            return cfg.learning_rate * (step + 1) / cfg.warmup_iters
        if step >= decay_iters:
            return cfg.min_lr
        progress = (step - cfg.warmup_iters) / max(1, decay_iters - cfg.warmup_iters)  # 0 → 1
        return cfg.min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (cfg.learning_rate - cfg.min_lr)

    _, workshop = get_preset("workshop")
    schedule = TrainConfig(**workshop.train)  # the schedule of the full GPU run
    steps = list(range(schedule.max_iters + 1))
    fig, (ax_all, ax_start) = plt.subplots(1, 2, figsize=(11, 3.2))
    for ax, upto in ((ax_all, len(steps)), (ax_start, 3 * schedule.warmup_iters)):
        ax.plot(steps[:upto], [my_lr(s, schedule) for s in steps[:upto]])
        ax.set_xlabel("step"); ax.set_ylabel("learning rate"); ax.grid(alpha=0.3)
    ax_all.set_title(f"warm-up {schedule.warmup_iters} steps, cosine to step {schedule.max_iters}")
    ax_start.set_title("the first steps: the warm-up ramp")
    plt.show()

    peak = max(my_lr(s, schedule) for s in steps)
    assert peak == schedule.learning_rate and my_lr(schedule.warmup_iters, schedule) == peak
    assert my_lr(0, schedule) < peak / 50 and my_lr(schedule.max_iters, schedule) == schedule.min_lr
    """),
    code("""
    # drift check: matches helpers — our schedule is helpers.lr_at, step for step
    for cfg in (schedule, TrainConfig(max_iters=300, warmup_iters=7, learning_rate=2e-3, min_lr=0.0, lr_decay_iters=250)):
        assert all(math.isclose(my_lr(s, cfg), lr_at(s, cfg), rel_tol=1e-12) for s in range(cfg.max_iters + 50))
    print("my_lr == helpers.lr_at at every step")
    """),
    md("""
    ## The training loop, written out

    One step has seven parts. Read them in order: this is all that training is, at any scale.
    `clip_grad_norm_` caps the length of the whole gradient at `grad_clip` (1.0): a rare bad batch then
    cannot throw the weights far. `zero_grad` matters because PyTorch *adds* new gradients to old ones.
    """),
    code("""
    def my_train_step(model, optimizer, step, cfg, batches):
        \"\"\"One optimisation step; returns the batch's loss.\"\"\"
        for group in optimizer.param_groups:
            group["lr"] = my_lr(step, cfg)                     # 1. this step's learning rate
        x, y = corpus.batch("train", cfg.batch_size, model.config.block_size, batches)  # 2. a random batch
        _, loss = model(x, y)                                  # 3. forward: predictions and their loss
        loss.backward()                                        # 4. backward: a gradient for every weight
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)  # 5. cap rare huge gradients
        optimizer.step()                                       # 6. AdamW nudges every weight
        optimizer.zero_grad(set_to_none=True)                  # 7. forget this step's gradients
        return loss.item()

    cfg = TrainConfig(batch_size=32, max_iters=2000, learning_rate=2e-3, min_lr=2e-4, warmup_iters=10)
    optimizer = my_adamw(model, cfg)
    batches = torch.Generator().manual_seed(cfg.seed)  # which windows of text each batch takes
    losses = [my_train_step(model, optimizer, step, cfg, batches) for step in range(30)]
    print(" ".join(f"{loss:.2f}" for loss in losses))

    assert abs(losses[0] - math.log(65)) < 0.15  # random weights: every character about equally likely
    assert sum(losses[-5:]) / 5 < losses[0] - 0.5  # thirty steps in, the loss is already falling
    """),
    md("""
    `helpers.Trainer` runs this same step (plus mixed precision where the hardware has it, `torch.compile`,
    checkpoints and evaluation). For the comparison both run in plain fp32. The drift check gives two copies of the same model the same batches: three steps with our
    loop, three with `Trainer.train_step`, and every weight must come out the same. Where PyTorch has it,
    `Trainer` uses AdamW's *fused* kernel (the same update, computed in one pass: faster); the rounding of the
    two kernels differs in the last bits, so our copy uses the same kernel for the comparison.
    """),
    code("""
    # drift check: matches helpers — three hand-written steps give Trainer's weights
    from helpers.device import fused_adamw_supported

    check_cfg = TrainConfig(
        batch_size=8, max_iters=100, warmup_iters=2, device="cpu", precision="fp32", compile=False, progress=False
    )
    torch.manual_seed(0)
    mine = GPT(SMALL)
    theirs = copy.deepcopy(mine)
    my_optimizer = my_adamw(mine, check_cfg, fused=fused_adamw_supported("cpu"))
    my_batches = torch.Generator().manual_seed(check_cfg.seed)
    trainer = Trainer(theirs, corpus, check_cfg)
    for step in range(3):
        my_train_step(mine, my_optimizer, step, check_cfg, my_batches)
        trainer.step = step
        trainer.train_step()
    for (name, a), b in zip(mine.named_parameters(), theirs.parameters()):
        torch.testing.assert_close(a, b, msg=f"{name} differs")
    print(f"all {len(list(mine.parameters()))} weight tensors match after 3 steps")
    """),
    md("""
    From here on we train with `helpers.Trainer`.

    ## Watching train and val loss: overfitting on purpose

    Every `eval_interval` steps the trainer measures the loss on `eval_iters` batches of **train** text and of
    **val** text (never trained on), without gradients. Train loss tells how well the model fits what it
    sees; val loss tells how well that carries over to new text, which is what we actually want.

    To see the difference, we make a model overfit: it trains on only the first 2,000 characters of the
    text, has plenty of parameters for that, and no dropout. It can memorise those characters. The live
    plot (`helpers.live.LiveLossPlot`) redraws as it goes. Watch for the moment the talk warns about:
    *"If your validation loss is increasing while training loss decreases, that means you overfit."*
    """),
    code("""
    from helpers.colab import run_dir
    from helpers.live import LiveLossPlot

    smoke = smoke_mode()
    # the first 2,000 characters to train on, the usual val text to judge by (on the training device)
    sliver = Corpus(corpus.text, corpus.tokenizer, train=corpus.train[:2000].to(device), val=corpus.val.to(device))
    print(repr(corpus.tokenizer.decode(sliver.train[:150])), "...")

    OVERFIT_RUN = run_dir("overfit-demo")
    (OVERFIT_RUN / "metrics.jsonl").unlink(missing_ok=True)  # a fresh demo each time
    torch.manual_seed(0)
    memoriser = GPT(GPTConfig(vocab_size=65, block_size=32, n_layer=2, n_head=4, n_embd=64 if smoke else 128, dropout=0.0))
    print(f"{memoriser.num_params():,} parameters for {len(sliver.train):,} characters of training text")
    overfit_cfg = TrainConfig(
        batch_size=32, max_iters=300 if smoke else 400, learning_rate=3e-3, min_lr=3e-4, warmup_iters=10,
        weight_decay=0.0, eval_interval=20, eval_iters=5 if smoke else 10,
        device=device, out_dir=str(OVERFIT_RUN),
    )
    overfit_history = Trainer(memoriser, sliver, overfit_cfg, callbacks=[LiveLossPlot()]).fit()
    """),
    md("""
    Train loss keeps falling: the model recites its 2,000 characters better and better. Val loss falls
    at first (it learns what all English text shares: common letters, spaces, short words), then turns
    up: what it learns now is specific to those 2,000 characters, and it is confidently wrong on new text.
    """),
    code("""
    from helpers.plotting import best_point

    sweet = best_point(overfit_history)
    last = overfit_history[-1]
    print(f"sweet spot: step {sweet['step']}, train {sweet['train_loss']:.3f}, val {sweet['val_loss']:.3f}")
    print(f"the end:    step {last['step']}, train {last['train_loss']:.3f}, val {last['val_loss']:.3f}")
    assert sweet["step"] < last["step"]  # the best val loss came before the end ...
    assert last["val_loss"] > sweet["val_loss"] + 0.1  # ... val loss turned up ...
    assert last["train_loss"] < sweet["train_loss"] - 0.3  # ... while train loss kept falling: overfitting
    """),
    md("""
    ## Keeping the best checkpoint: the sweet spot

    We do not have to guess when to stop. At every evaluation the trainer writes `last.safetensors`, and
    whenever val loss reaches a new low it also writes `best.safetensors`. After training, `best` holds the
    model from the sweet spot, whatever happened later.
    """),
    code("""
    kept = load_checkpoint(OVERFIT_RUN / "best.safetensors")
    print(f"best.safetensors: step {kept.training['step']}, val {kept.training['best_val_loss']:.3f}")
    print(f"last.safetensors: step {load_checkpoint(OVERFIT_RUN / 'last.safetensors').training['step']}")
    assert kept.training["step"] == sweet["step"] and kept.training["best_val_loss"] == sweet["val_loss"]
    """),
    md("""
    ## The full run

    Now the real thing, on the whole training text. The preset picks the model and the settings:

    - on an NVIDIA GPU, **`workshop`**: the 6-layer, 6-head, 384-wide GPT of the talk (about 10.7M parameters),
      context 256, 5,000 steps, dropout 0.2 against overfitting;
    - elsewhere, **`laptop`**: a 4-layer, 128-wide model that learns visibly in minutes on a CPU;
    - in smoke mode (CI), **`smoke`**: seconds, learns almost nothing.

    The run is saved to `runs/notebook`, where notebooks 06–08 look for it. In Colab, set `USE_DRIVE = True`
    to keep it on your Google Drive: if the runtime disconnects, re-run the cells and training continues
    from the last checkpoint instead of starting over (it also does so locally). To start over, delete the
    run folder. You can stop training at any time (■ / Interrupt): the best checkpoint so far is kept.
    """),
    code("""
    from helpers.colab import resume_or_start
    from helpers.notebook import notebook_run_dir

    USE_DRIVE = False  # Colab only: True keeps the run on Google Drive (it asks for permission once)

    preset_name, preset = get_preset("smoke" if smoke else "auto", device)
    RUN = notebook_run_dir(use_drive=USE_DRIVE)
    print(f"preset '{preset_name}': {preset.description}\\nrun folder: {RUN}")
    """),
    code("""
    torch.manual_seed(1337)
    gpt = GPT(GPTConfig(vocab_size=corpus.tokenizer.vocab_size, **preset.model))
    run_cfg = TrainConfig(**preset.train, device=device, out_dir=str(RUN))
    trainer = resume_or_start(Trainer(gpt, corpus, run_cfg, callbacks=[LiveLossPlot(label=preset_name)]))
    started = time.perf_counter()
    history = trainer.fit()
    print(f"{preset_name}: {gpt.num_params() / 1e6:.2f}M parameters, step {trainer.step}, "
          f"this session {time.perf_counter() - started:.0f} s, best val loss {trainer.best_val_loss:.4f}")
    assert history[-1]["val_loss"] < history[0]["val_loss"] - 0.5  # it learned
    """),
    md("""
    What does the best checkpoint write? (Notebook 06 is all about this step.)
    """),
    code("""
    from helpers import load_model, sample_text

    best_gpt, tokenizer = load_model(RUN, device)
    print(sample_text(best_gpt, tokenizer, "ROMEO:", max_new_tokens=300, temperature=0.8, seed=0))
    """),
    md("""
    ## Recap

    - **AdamW**: momentum plus a per-weight step size, with weight decay on the matrices only.
    - **Schedule**: linear warm-up to the peak learning rate, then cosine decay to a floor (`lr_at`).
    - **The step**: batch → forward → loss → backward → clip → optimizer step → zero the gradients.
      Ours matches `Trainer.train_step` weight for weight (drift check passed).
    - **Train vs val**: val loss rising while train loss falls is overfitting; we caused it on purpose with
      2,000 characters and a model big enough to memorise them.
    - **The sweet spot** is kept automatically: `best.safetensors` is the checkpoint with the lowest val loss.
    - The full run is in `runs/notebook`, ready for notebooks 06–08.

    ## Exercise: early stopping

    Keeping the best checkpoint saves the good model, but the overfitting run above still wasted its last
    steps. *Early stopping* ends training once val loss has not improved for `patience` evaluations. Write
    `should_stop(history, patience)`: `history` is the list of evaluation records (`record["val_loss"]`), and
    it returns `True` when the lowest val loss so far is `patience` or more evaluations old.
    """),
    code("""
    from helpers.exercises.nb05 import check_should_stop

    def should_stop(history, patience):
        ...  # your code here

    check_should_stop(should_stop)
    """),
    solution_cell(solution_should_stop),
    md("The cell below makes sure the checker itself works: it accepts the solution and rejects a wrong answer."),
    code("""
    from helpers.exercises.nb05 import solution_should_stop

    assert check_should_stop(solution_should_stop)
    assert not check_should_stop(lambda history, patience: len(history) > patience)
    stops = [r["step"] for i, r in enumerate(overfit_history) if solution_should_stop(overfit_history[: i + 1], 3)]
    stop_at = stops[0] if stops else last["step"]
    print(f"with patience 3, early stopping would have ended the overfitting run at step {stop_at} of {last['step']}")
    """),
]

if __name__ == "__main__":
    write_notebook("05_training.ipynb", TITLE, CELLS)
