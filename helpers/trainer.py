"""The training loop: AdamW, warm-up + cosine learning rate, train/val loss, best checkpoint.

Library use (what notebook 05 builds up to):
    trainer = Trainer(model, corpus, TrainConfig(max_iters=2000), callbacks=[LiveLossPlot()])
    history = trainer.fit()

Under torchrun (after helpers.distributed.init) the same Trainer trains with DistributedDataParallel:
`batch_size` stays the global batch, every rank computes its rows of it (in `grad_accum_steps` pieces),
losses are averaged over the ranks, and rank 0 alone writes files and shows progress.

The command line (`python -m helpers.train`) lives in train.py.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from . import checkpoint as ckpt
from . import distributed
from .data import Corpus
from .device import autocast, compile_supported, fused_adamw_supported, pick_device, precision_for, use_tf32_matmuls
from .errors import WorkshopError, require
from .model import GPT


@dataclass
class TrainConfig:
    batch_size: int = 64  # the global batch: sequences per optimizer step, all processes and accumulation steps
    grad_accum_steps: int = 1  # the batch is computed in this many pieces (less memory), then one step
    max_iters: int = 5000
    learning_rate: float = 1e-3  # peak, reached at the end of warm-up
    min_lr: float = 1e-4  # the floor cosine decay ends on
    warmup_iters: int = 100
    lr_decay_iters: int | None = None  # defaults to max_iters
    weight_decay: float = 0.1  # on matrices only (not biases, LayerNorms)
    beta1: float = 0.9
    beta2: float = 0.99
    grad_clip: float = 1.0  # 0 switches clipping off
    eval_interval: int = 250
    eval_iters: int = 200  # batches per split in each loss estimate
    val_full_split: bool = (
        False  # val loss over the whole val split (exact, ~len(val) tokens) instead of eval_iters batches
    )
    log_interval: int = 10
    seed: int = 1337
    max_minutes: float | None = None  # wall-clock budget; stops early (with a final eval) when spent
    device: str = "auto"
    precision: str = "auto"  # auto | fp32 | bf16 | fp16
    compile: bool | str = "auto"  # auto = on CUDA where it works
    out_dir: str | None = None  # where checkpoints and metrics go; None keeps nothing on disk
    progress: bool = True

    def __post_init__(self):
        for name in ("batch_size", "grad_accum_steps", "max_iters", "eval_interval", "eval_iters", "log_interval"):
            value = getattr(self, name)
            require(
                isinstance(value, int) and value > 0, f"TrainConfig.{name} must be a positive integer, not {value!r}."
            )
        require(self.learning_rate > 0 and self.min_lr >= 0, "learning_rate must be > 0 and min_lr ≥ 0.")


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up to the peak, cosine decay to `min_lr` at `lr_decay_iters`, then flat."""
    decay_iters = cfg.lr_decay_iters or cfg.max_iters
    if step < cfg.warmup_iters:
        return cfg.learning_rate * (step + 1) / cfg.warmup_iters
    if step >= decay_iters:
        return cfg.min_lr
    progress = (step - cfg.warmup_iters) / max(1, decay_iters - cfg.warmup_iters)
    return cfg.min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (cfg.learning_rate - cfg.min_lr)


def make_optimizer(model: GPT, cfg: TrainConfig, device: str) -> torch.optim.AdamW:
    """AdamW with weight decay on the weight matrices only; one fused kernel where PyTorch has it."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    extra = {"fused": True} if fused_adamw_supported(device) else {}
    return torch.optim.AdamW(groups, lr=cfg.learning_rate, betas=(cfg.beta1, cfg.beta2), **extra)


def is_out_of_memory(err: BaseException) -> bool:
    """CUDA's OutOfMemoryError, or the RuntimeError Apple's MPS backend raises when memory runs out."""
    return isinstance(err, torch.cuda.OutOfMemoryError) or (
        isinstance(err, RuntimeError) and "out of memory" in str(err).lower()
    )


def check_vocabularies_match(model: GPT, corpus: Corpus) -> None:
    """Refuse a model and a corpus whose vocabularies differ in size, before a token id the model has no
    embedding for ends in an IndexError (on a GPU, a device-side assert)."""
    model_vocab, corpus_vocab = model.config.vocab_size, corpus.tokenizer.vocab_size
    # the same text saved with Windows line ends has one character more (character tokenizers only)
    windows = "\r" in getattr(corpus.tokenizer, "chars", ())
    require(
        model_vocab == corpus_vocab,
        f"The model's vocabulary has {model_vocab} tokens, but the corpus has {corpus_vocab} characters"
        + (" (one is '\\r': the text has Windows line ends, \\r\\n)" if windows else "")
        + ". Fix: build the model for this corpus, GPTConfig(vocab_size=corpus.tokenizer.vocab_size, ...) "
        + "(Preset.build_model does), "
        + ("save the text with Unix line ends (\\n), " if windows else "")
        + "or train it on the text it was built for.",
    )


class Callback:
    """Hooks into training; override what you need. The live loss plot is one of these."""

    def on_train_start(self, trainer: Trainer) -> None: ...
    def on_step(self, trainer: Trainer, step: int) -> None: ...
    def on_eval(self, trainer: Trainer, record: dict) -> None: ...
    def on_train_end(self, trainer: Trainer) -> None: ...


class Trainer:
    """Owns the model on its device, the optimizer, the loss history and the checkpoints.

    `corpus` is a data.Corpus (in memory) or a prepared.PreparedCorpus (memory-mapped from disk).
    `clock` (seconds, default time.perf_counter) measures the run; under torchrun it is rank 0's, shared.
    """

    def __init__(self, model: GPT, corpus: Corpus, cfg: TrainConfig | None = None, callbacks=(), clock=None):
        self.cfg = cfg or TrainConfig()
        self.device = pick_device(self.cfg.device)
        self.launch = distributed.current()  # rank 0 of 1 outside torchrun
        self.micro_batch_size = distributed.micro_batch_size(
            self.cfg.batch_size, self.launch.world_size, self.cfg.grad_accum_steps
        )
        self.precision = precision_for(self.device) if self.cfg.precision == "auto" else self.cfg.precision
        use_tf32_matmuls(self.device)
        torch.manual_seed(self.cfg.seed)
        self.model = model.to(self.device)
        self.corpus = corpus.to(self.device)  # keeps a custom split (never re-encodes corpus.text)
        check_vocabularies_match(self.model, self.corpus)
        block = self.model.config.block_size
        require(
            len(self.corpus.val) > block,
            f"block_size={block} is longer than the validation split ({len(self.corpus.val)} tokens). "
            "Fix: lower block_size or train on more text.",
        )
        self.optimizer = make_optimizer(self.model, self.cfg, self.device)
        self.scaler = torch.amp.GradScaler(self.device, enabled=self.precision == "fp16")
        self.batch_rng = self.corpus.generator(self.cfg.seed)  # the same on every rank: one global batch
        self.callbacks = list(callbacks)
        self.step = 0
        self.history: list[dict] = []
        self.train_loss: float | None = None  # the latest logged batch loss (every log_interval steps)
        self.best_val_loss = float("inf")
        self.stopped_because = ""
        self.out_dir = Path(self.cfg.out_dir) if self.cfg.out_dir else None
        self.clock = distributed.agreed_clock(clock or time.perf_counter)
        self._reseed_other_ranks()
        self._ddp = distributed.wrap_model(self.model, self.device)  # None in one process
        self._eager = self._ddp or self.model
        self._forward = self._choose_forward()

    # ---- compile with a safe fallback -------------------------------------------------------
    def _choose_forward(self):
        wanted = self.cfg.compile
        if wanted is False or wanted == "off":
            return self._eager
        ok, why_not = compile_supported(self.device)
        if not ok:
            if wanted is True:
                print(f"torch.compile skipped: {why_not}; training in eager mode.")
            return self._eager
        try:  # some versions raise at the call itself (e.g. an unsupported Python), not at the first forward
            return torch.compile(self._eager)
        except Exception as err:
            warnings.warn(f"torch.compile failed ({type(err).__name__}: {err}); training in eager mode.", stacklevel=2)
            return self._eager

    def _fallback_to_eager(self, err: Exception) -> None:
        warnings.warn(f"torch.compile failed ({type(err).__name__}: {err}); falling back to eager mode.", stacklevel=2)
        self._forward = self._eager

    def _forward_or_eager(self, x, y):
        """The compiled forward, going eager if it fails: evaluation at step 0 is its first call."""
        try:
            return self._forward(x, y)
        except Exception as err:
            if self._forward is self._eager or isinstance(err, WorkshopError) or is_out_of_memory(err):
                raise
            self._fallback_to_eager(err)
            return self._eager(x, y)

    # ---- loss estimates ---------------------------------------------------------------------
    @torch.no_grad()
    def estimate_loss(self) -> dict[str, float]:
        """Mean loss over `eval_iters` batches per split, the same batches at every evaluation.

        With `val_full_split`, the val loss is exact instead (see full_split_loss).
        """
        self.model.eval()
        out = {}
        for split in ("train",) if self.cfg.val_full_split else ("train", "val"):
            rng = self.corpus.generator(self.cfg.seed + 1)
            losses = torch.zeros(self.cfg.eval_iters, device=self.device)
            for i in range(self.cfg.eval_iters):
                x, y = self._batch(split, rng)
                losses[i] = torch.stack(
                    [self._loss(xm, ym, self._forward_or_eager).float() for xm, ym in self._pieces(x, y)]
                ).mean()
            out[split] = distributed.all_reduce_mean(losses.mean()).item()  # every rank scored its rows
        if self.cfg.val_full_split:
            out["val"] = self.full_split_loss("val")
        self.model.train()
        return out

    @torch.no_grad()
    def full_split_loss(self, split: str = "val", windows_per_batch: int = 128) -> float:
        """Exact loss over a whole split: non-overlapping block_size windows, each token scored once.

        No sampling noise, and for the val split (10% of the text) cheaper than 200 random batches.
        The last partial window is left out.
        """
        data = self.corpus.val if split == "val" else self.corpus.train
        block = self.model.config.block_size
        n = (len(data) - 1) // block
        was_training = self.model.training
        self.model.eval()
        total = torch.zeros((), device=self.device)
        world, rank = self.launch.world_size, self.launch.rank
        for i in range(rank * windows_per_batch, n, world * windows_per_batch):  # rank r: every W-th piece
            x, y = self.corpus.windows(split, block, i, min(i + windows_per_batch, n))
            with autocast(self.device, self.precision):
                _, loss = self.model(x, y)
            total += loss.float() * len(x)
        self.model.train(was_training)
        return (distributed.all_reduce_sum(total) / n).item()

    # ---- one optimisation step --------------------------------------------------------------
    def _batch(self, split: str, generator: torch.Generator):
        """This rank's rows of one global batch (all of it in one process)."""
        return self.corpus.batch(
            split, self.cfg.batch_size, self.model.config.block_size, generator, rows=self.launch.rows
        )

    def _pieces(self, x, y):
        """The rows in pieces of micro_batch_size: grad_accum_steps pieces of this rank's rows."""
        return zip(x.split(self.micro_batch_size), y.split(self.micro_batch_size))

    def _loss(self, x, y, forward) -> torch.Tensor:
        with autocast(self.device, self.precision):
            _, loss = forward(x, y)
        return loss

    def train_step(self) -> torch.Tensor:
        """One optimizer step on one global batch: its pieces' gradients summed here, averaged over the
        ranks by DistributedDataParallel during the last piece's backward (no_sync before it)."""
        lr = lr_at(self.step, self.cfg)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        x, y = self._batch("train", self.batch_rng)
        steps, losses = self.cfg.grad_accum_steps, []
        for i, (xm, ym) in enumerate(self._pieces(x, y)):
            last = i == steps - 1
            with self._ddp.no_sync() if self._ddp is not None and not last else contextlib.nullcontext():
                loss = self._loss(xm, ym, self._forward)
                self.scaler.scale(loss / steps).backward()
            losses.append(loss.detach())
        if self.cfg.grad_clip > 0:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        return torch.stack(losses).mean()  # this rank's mean loss over its rows

    def _guarded_step(self) -> torch.Tensor:
        try:
            try:
                return self.train_step()
            except Exception as err:  # a compiled graph that fails at its first run: go eager once
                if self._forward is self._eager or isinstance(err, WorkshopError) or is_out_of_memory(err):
                    raise
                self._fallback_to_eager(err)
                self.optimizer.zero_grad(set_to_none=True)
                return self.train_step()
        except Exception as err:
            if is_out_of_memory(err):
                raise self._out_of_memory_error("training") from None
            raise

    def _out_of_memory_error(self, during: str) -> WorkshopError:
        c = self.model.config
        return WorkshopError(
            f"Out of GPU memory during {during} at batch_size={self.cfg.batch_size}, block_size={c.block_size}, "
            f"n_layer={c.n_layer}, n_embd={c.n_embd}. Fix: lower batch_size first (e.g. "
            f"{max(1, self.cfg.batch_size // 2)}: --batch-size or TrainConfig(batch_size=...)), or keep the batch "
            f"and compute it in more pieces (now {self.cfg.grad_accum_steps}: --grad-accum), then block_size "
            "or the model size; in a notebook, restart the runtime to free the memory."
        )

    # ---- evaluation, history, checkpoints ---------------------------------------------------
    def evaluate(self, tokens_per_s: float, elapsed: float) -> dict:
        try:
            losses = self.estimate_loss()
        except Exception as err:
            if is_out_of_memory(err):
                raise self._out_of_memory_error("evaluation") from None
            raise
        if not all(math.isfinite(v) for v in losses.values()):
            self._stop_on_nan(f"the loss at the evaluation of step {self.step} ({losses})")
        improved = losses["val"] < self.best_val_loss
        self.best_val_loss = min(self.best_val_loss, losses["val"])
        record = {
            "step": self.step,
            "train_loss": losses["train"],
            "val_loss": losses["val"],
            "lr": lr_at(self.step, self.cfg),
            "tokens_per_s": tokens_per_s,
            "elapsed_s": elapsed,
            "best": improved,
        }
        self.history.append(record)
        self._reseed_other_ranks()
        if self.out_dir is not None and self.launch.is_main:  # rank 0 alone writes
            self.out_dir.mkdir(parents=True, exist_ok=True)
            with open(self.out_dir / "metrics.jsonl", "a") as f:
                f.write(json.dumps(record) + "\n")
            # a new best is the same state as last: serialised and hashed once, written to both (best first)
            self.save(*([self.out_dir / ckpt.BEST] if improved else []), self.out_dir / ckpt.LAST)
        for cb in self.callbacks:
            cb.on_eval(self, record)
        return record

    def _stop_on_nan(self, what: str) -> None:
        kept = f" The last good checkpoint is kept in {self.out_dir}." if self.out_dir else ""
        raise WorkshopError(
            f"Training diverged: {what} is not a finite number.{kept} Fix: lower learning_rate "
            f"(now {self.cfg.learning_rate}; try half), keep grad_clip on, or train in fp32 (precision='fp32')."
        )

    def _reseed_other_ranks(self) -> None:
        """Ranks other than 0 restart their dropout randomness at every evaluation from (seed, rank, step).

        Rank 0's random state is the one checkpointed; the others need none: a resumed run re-derives
        theirs from the step, so it continues exactly as the unbroken run would have. (Batches need no
        such care: every rank draws the same global batch from `batch_rng`, rank 0's, checkpointed.)
        """
        if self.launch.rank > 0:
            torch.manual_seed(distributed.rank_seed(self.cfg.seed, self.launch.rank, self.step))

    def save(self, path, *more_paths) -> Path:
        """Write a checkpoint of this moment to `path` (and to each of `more_paths`: the same bytes)."""
        rng = {"torch": torch.get_rng_state(), "batch": self.batch_rng.get_state()}
        if self.device == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state()
        training = {
            "step": self.step,
            "history": self.history,
            "best_val_loss": self.best_val_loss,
            "train_config": asdict(self.cfg),
            "precision": self.precision,
            "device": self.device,  # a generator's state fits only its own device type (see _restore_rng)
        }
        return ckpt.save_checkpoint(
            path, self.model, self.corpus.tokenizer, self.optimizer, self.scaler, training, rng, copies=more_paths
        )

    def resume(self, path=None) -> Trainer:
        """Continue from a checkpoint (default: `out_dir/last.safetensors`): weights, optimizer, RNG, step."""
        path = path or (self.out_dir / ckpt.LAST if self.out_dir else None)
        require(path is not None, "Nothing to resume from. Fix: pass the checkpoint path or set out_dir.")
        if Path(path).is_dir():  # a run folder: continue from its last checkpoint
            path = Path(path) / ckpt.LAST
        require(
            Path(path).is_file(),
            f"Nothing to resume: no checkpoint at {path}. Fix: start without resuming (drop --resume), "
            "or point out_dir (--out) at the folder of the run to continue.",
        )
        state = ckpt.load_checkpoint(path, self.device)
        require(
            state.tokenizer == self.corpus.tokenizer,
            f"{path} was trained with another tokenizer ({state.tokenizer!r} on its text; now "
            f"{self.corpus.tokenizer!r}). Fix: resume with the same corpus and tokenizer "
            f"(--tokenizer {state.tokenizer.kind}"
            + (f" --vocab-size {state.tokenizer.vocab_size})." if state.tokenizer.kind == "bpe" else ")."),
        )
        ckpt.load_weights(
            self.model,
            state,
            fix="Fix: resume with the model settings the run started with (same preset), "
            "or start a new run in another out_dir.",
        )
        require(
            state.optimizer_state is not None and "torch" in state.rng and "batch" in state.rng,
            f"{path} holds weights only. Fix: resume from last.safetensors.",
        )
        if self.launch.is_main:
            ckpt.remove_leftover_temp_files(Path(path).parent)  # from a write that a disconnect cut short
        self.optimizer.load_state_dict(state.optimizer_state)
        if state.scaler_state:
            self.scaler.load_state_dict(state.scaler_state)
        self._restore_rng(state, path)
        self.step = state.training["step"]
        self.history = state.training["history"]
        self.best_val_loss = state.training["best_val_loss"]
        self._reseed_other_ranks()
        if self.out_dir is not None and self.launch.is_main:  # metrics.jsonl must agree with the resumed history
            self.out_dir.mkdir(parents=True, exist_ok=True)
            (self.out_dir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in self.history))
        return self

    def _restore_rng(self, state: ckpt.Checkpoint, path) -> None:
        """The random state of a checkpoint. A generator's state fits only a generator of its device type:

        resumed on another device (a Colab GPU run continued on a laptop, or the reverse), the batches
        continue from a fresh seed, as good for training but not bit-identical to an unbroken run.
        """
        torch.set_rng_state(state.rng["torch"])  # the CPU's, whatever the device
        saved_on = state.training.get("device")  # None in checkpoints written before it was recorded
        if saved_on in (None, self.device):
            try:
                self.batch_rng.set_state(state.rng["batch"])
                if "cuda" in state.rng and self.device == "cuda":
                    torch.cuda.set_rng_state(state.rng["cuda"])
                return
            except RuntimeError:  # an old checkpoint from another device type: its state has another size
                pass
        self.batch_rng.manual_seed(self.cfg.seed + state.training.get("step", 0))
        print(
            f"{path} was trained on {saved_on or 'another device'} and resumes on {self.device}: the random batches "
            "continue from a fresh seed (as good for training, not bit-identical to an unbroken run)."
        )

    # ---- the loop ---------------------------------------------------------------------------
    def fit(self) -> list[dict]:
        """Train until max_iters (or the time budget), evaluating every eval_interval steps."""
        cfg, tokens_per_step = self.cfg, self.cfg.batch_size * self.model.config.block_size
        self.model.train()
        for cb in self.callbacks:
            cb.on_train_start(self)
        start = self.clock()
        window_start, window_steps = start, 0
        earlier = self.history[-1]["elapsed_s"] if self.history else 0.0  # time spent before a resume
        quiet = not cfg.progress or not self.launch.is_main
        bar = tqdm(total=cfg.max_iters, initial=self.step, disable=quiet, desc="training", unit="step")
        resumed_at = self.step if self.history else None
        try:
            while True:
                due = self.step % cfg.eval_interval == 0 or self.step >= cfg.max_iters
                out_of_time = cfg.max_minutes is not None and self.clock() - start > 60 * cfg.max_minutes
                if (due or out_of_time) and self.step != resumed_at:
                    now = self.clock()
                    rate = tokens_per_step * window_steps / max(now - window_start, 1e-9)
                    record = self.evaluate(rate, earlier + now - start)
                    bar.set_postfix(train=f"{record['train_loss']:.3f}", val=f"{record['val_loss']:.3f}")
                    window_start, window_steps = self.clock(), 0
                if self.step >= cfg.max_iters or out_of_time:
                    self.stopped_because = "time budget spent" if out_of_time else "max_iters reached"
                    break
                loss = self._guarded_step()
                self.step += 1
                window_steps += 1
                bar.update(1)
                if self.step % cfg.log_interval == 0:
                    loss_value = distributed.all_reduce_mean(loss).item()  # the only host sync between evaluations
                    self.train_loss = loss_value
                    if not math.isfinite(loss_value):
                        self._stop_on_nan(f"the training loss at step {self.step}")
                    bar.set_postfix(loss=f"{loss_value:.3f}", refresh=False)
                for cb in self.callbacks:
                    cb.on_step(self, self.step)
        except KeyboardInterrupt:
            self.stopped_because = f"interrupted at step {self.step}"
            if self.launch.is_main:
                print(f"\nStopped at step {self.step}; the best checkpoint so far is kept.")
        finally:
            bar.close()
        for cb in self.callbacks:
            cb.on_train_end(self)
        return self.history
