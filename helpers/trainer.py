"""The training loop: AdamW, warm-up + cosine learning rate, train/val loss, best checkpoint.

Library use (what notebook 05 builds up to):
    trainer = Trainer(model, corpus, TrainConfig(max_iters=2000), callbacks=[LiveLossPlot()])
    history = trainer.fit()

A run is a number of steps (`max_iters`) or a time budget (`budget_minutes=5`): then warm-up and
cosine decay follow the fraction of the budget spent, evaluations come on the clock, and training
ends at the budget with the learning rate at its floor and a final evaluation. The schedule itself
is in schedule.py.

Under torchrun (after helpers.distributed.init) the same Trainer trains with DistributedDataParallel:
`batch_size` stays the global batch, every rank computes its rows of it (in `grad_accum_steps` pieces),
losses are averaged over the ranks, and rank 0 alone writes files and shows progress.

The command line (`python -m helpers.train`) lives in train.py.
"""

from __future__ import annotations

import contextlib
import json
import math
import statistics
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from . import checkpoint as ckpt
from . import distributed, optimizers
from .data import Corpus
from .device import autocast, compile_supported, fused_adamw_supported, pick_device, precision_for, use_tf32_matmuls
from .errors import WorkshopError, require
from .model import GPT
from .schedule import (
    EXTEND_END,
    EXTEND_FROM_ZERO,
    EXTEND_HEIGHT,
    EXTEND_RAMP,
    Rewarm,
    changed_schedule,
    lr_at,
    lr_at_fraction,
    still_warming_up,
)

# A budget run holds back the time of a typical evaluation for its final one: the lower median of the latest
# EVALS_KEPT evaluations, so that one evaluation stalled by other jobs does not take the time of the steps that
# follow (keeping the latest evaluation's time ended a run far too early: benchmarks/RESULTS.md). While only one
# is known (often a cold one: allocations, kernel set-up, on a GPU compiling the model), at most
# EVAL_RESERVE_SHARE of the budget.
EVALS_KEPT = 3
EVAL_RESERVE_SHARE = 0.05
# A step's time counts in the running average of a budget run's step time at most this many times that average:
# one stalled step (another job, a laptop put to sleep) must not make the run stop or anneal early, while a
# machine that really got slower is followed within a few steps (the average can rise by 30% a step).
STEP_STALL_FACTOR = 4.0


FIX_RESUME_SETTINGS = (
    "Fix: resume with the settings the run started with (the same preset; python -m helpers.train "
    "--preset auto reads them from the checkpoint), or start a new run in another out_dir."
)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass
class TrainConfig:
    batch_size: int = 64  # the global batch: sequences per optimizer step, all processes and accumulation steps
    grad_accum_steps: int = 1  # the batch is computed in this many pieces (less memory), then one step
    max_iters: int = 5000  # the length of a run of steps (a budget run ignores it)
    learning_rate: float = 1e-3  # peak, reached at the end of warm-up
    min_lr: float | None = None  # the floor cosine decay ends on; None: learning_rate / 10, following the peak
    warmup_iters: int = 100  # steps; never more than half of the decay is used (schedule.warmup_steps)
    lr_decay_iters: int | None = None  # the step the floor is reached; defaults to max_iters
    budget_minutes: float | None = None  # train for this long instead: the schedule follows the clock
    warmup_fraction: float = 0.02  # budget runs: the share of the budget spent warming up
    # a finished run given more steps or minutes climbs to this share of the way from floor to peak (0: it
    # never climbs: holds the floor, then anneals below it; more ends lower but first undoes the annealing)
    extend_height: float = EXTEND_HEIGHT
    max_minutes: float | None = None  # a cap on one fit() of a run of steps: stops early (final eval, no annealing)
    weight_decay: float = 0.1  # on matrices only (not biases, LayerNorms)
    optimizer: str = "adamw"  # or "muon": Muon for the blocks' weight matrices, AdamW for the rest
    beta1: float = 0.9
    beta2: float = 0.99
    grad_clip: float = 1.0  # 0 switches clipping off
    eval_interval: int = 250  # steps between evaluations (and checkpoints)
    eval_interval_minutes: float | None = None  # evaluate on the clock instead; budget runs: budget / 5
    eval_iters: int = 200  # batches per split in each loss estimate
    val_full_split: bool = (
        False  # val loss over the whole val split (exact, ~len(val) tokens) instead of eval_iters batches
    )
    log_interval: int = 10
    seed: int = 1337
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
        require(
            _is_number(self.learning_rate) and self.learning_rate > 0,
            f"learning_rate must be a positive number, not {self.learning_rate!r}.",
        )
        if self.min_lr is None:  # the floor follows the peak unless it is set
            self.min_lr = self.learning_rate / 10
        require(
            _is_number(self.min_lr) and 0 <= self.min_lr <= self.learning_rate,
            f"min_lr={self.min_lr!r} is not between 0 and learning_rate={self.learning_rate}: the rate would "
            "climb through the run instead of decaying. Fix: leave min_lr out (it follows learning_rate / 10) "
            "or set it at most learning_rate.",
        )
        require(
            isinstance(self.warmup_iters, int) and self.warmup_iters >= 0,
            f"warmup_iters must be a whole number of steps ≥ 0, not {self.warmup_iters!r}.",
        )
        require(
            self.lr_decay_iters is None
            or (isinstance(self.lr_decay_iters, int) and 0 < self.lr_decay_iters <= self.max_iters),
            f"lr_decay_iters={self.lr_decay_iters!r} must be a step of the run (1 to max_iters={self.max_iters}): "
            "beyond it, the run would end before the rate reaches its floor. Fix: leave it out (it is max_iters).",
        )
        require(
            self.budget_minutes is None or (_is_number(self.budget_minutes) and self.budget_minutes > 0),
            f"budget_minutes must be a positive number of minutes, not {self.budget_minutes!r}.",
        )
        require(
            self.max_minutes is None or (_is_number(self.max_minutes) and self.max_minutes > 0),
            f"max_minutes must be a positive number of minutes, not {self.max_minutes!r}.",
        )
        require(
            self.max_minutes is None or self.budget_minutes is None,
            "max_minutes (stop early) and budget_minutes (train for that long, annealed) both limit the time. "
            "Fix: give one; budget_minutes ends with the learning rate at its floor.",
        )
        require(
            _is_number(self.extend_height) and 0 <= self.extend_height <= 1,
            f"extend_height must be between 0 (a finished run given more steps never climbs) and 1 (it climbs "
            f"back to the peak), not {self.extend_height!r}.",
        )
        require(
            _is_number(self.warmup_fraction) and 0 <= self.warmup_fraction <= 0.5,
            f"warmup_fraction must be between 0 and 0.5 (a share of the budget), not {self.warmup_fraction!r}.",
        )
        require(
            self.eval_interval_minutes is None
            or (_is_number(self.eval_interval_minutes) and self.eval_interval_minutes > 0),
            f"eval_interval_minutes must be a positive number of minutes, not {self.eval_interval_minutes!r}.",
        )
        require(
            self.optimizer in optimizers.OPTIMIZERS,
            f"optimizer={self.optimizer!r} is unknown. Fix: use one of {', '.join(optimizers.OPTIMIZERS)}.",
        )


def make_optimizer(model: GPT, cfg: TrainConfig, device: str):
    """AdamW with weight decay on the weight matrices only (or Muon for the blocks' matrices, cfg.optimizer);
    one fused AdamW kernel where PyTorch has it."""
    return optimizers.make_optimizer(
        model,
        cfg.optimizer,
        lr=cfg.learning_rate,
        weight_decay=cfg.weight_decay,
        betas=(cfg.beta1, cfg.beta2),
        fused=fused_adamw_supported(device),
    )


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
    """Owns the model on its device, the optimizer, the loss history, the checkpoints and the run's clock.

    `corpus` is a data.Corpus (in memory) or a prepared.PreparedCorpus (memory-mapped from disk).
    `clock` (seconds, default time.perf_counter) is what time budgets are measured with (tests pass a fake);
    under torchrun it is rank 0's, shared.
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
        self.clock_s = 0.0  # seconds of training (evaluations included) before the current fit(): a resume's
        self.fraction = 0.0  # budget runs: the share of the budget spent, as the schedule sees it (never falls)
        self.schedule_start_s: float | None = None  # budget runs: the clock when the first step had run
        self.rewarm: Rewarm | None = None  # set when a resume changed the schedule (see schedule.Rewarm)
        self.eval_times_s: list[float] = []  # how long the latest evaluations took (see eval_reserve_s)
        self.step_s = 0.0  # seconds per step, a running average: a budget run's last step is taken in time
        self._fit_started: float | None = None
        # `clock` takes the decisions (stop, evaluate, how much of a budget is spent): under torchrun it is
        # rank 0's, read by every rank together. `local_clock` is this process's own, for what one rank does
        # alone (a checkpoint, a callback drawing): on rank 0 the two agree.
        self.local_clock = clock or time.perf_counter
        self.clock = distributed.agreed_clock(self.local_clock)
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
        lr = self.current_lr()
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
        began = self.clock()
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
            "lr": self.current_lr(),
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
        took = self.clock() - began  # loss estimate, checkpoints, plot: a budget keeps a typical one for the last
        self.eval_times_s = [*self.eval_times_s, took][-EVALS_KEPT:]
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
            "clock_s": self.elapsed_s(shared=False),  # rank 0 alone saves: its own clock is the shared one
            "fraction": self.fraction,
            "schedule_start_s": self.schedule_start_s,
            "eval_times_s": self.eval_times_s,
            "step_s": self.step_s,
            "rewarm": self.rewarm.as_dict() if self.rewarm else None,
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
        ckpt.load_weights(self.model, state, fix=FIX_RESUME_SETTINGS)
        saved_optimizer = state.training.get("train_config", {}).get("optimizer", "adamw")  # older runs: AdamW
        require(
            saved_optimizer == self.cfg.optimizer,
            f"{path} was trained with the {saved_optimizer} optimizer, but this run is set to {self.cfg.optimizer}: "
            f"its optimizer state does not fit. {FIX_RESUME_SETTINGS}",
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
        self._continue_schedule(state.training)
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

    # ---- the schedule and the clock ---------------------------------------------------------
    @property
    def budget_s(self) -> float | None:
        """The time budget in seconds (None: a run of max_iters steps)."""
        return None if self.cfg.budget_minutes is None else 60.0 * self.cfg.budget_minutes

    def elapsed_s(self, shared: bool = True) -> float:
        """The run's clock: seconds of training so far, evaluations and earlier sessions (resumes) included.

        Under torchrun every rank must read it together (it is rank 0's clock, shared); `shared=False` reads
        `local_clock` instead, for what one rank does alone (writing a checkpoint, drawing a plot).
        """
        if self._fit_started is None:
            return self.clock_s
        return self._elapsed_at((self.clock if shared else self.local_clock)())

    def _elapsed_at(self, reading: float) -> float:
        """The run's clock at `reading`, a reading of the clock taken during fit()."""
        return self.clock_s + reading - self._fit_started

    def lr_for(self, step: int, fraction: float | None = None) -> float:
        """The schedule's rate at `step` (or at `fraction` of a budget); after a changed schedule, the
        extension's own (schedule.Rewarm)."""
        if self.rewarm is not None:
            return self.rewarm.lr(self.cfg, step, fraction)
        return lr_at(step, self.cfg) if fraction is None else lr_at_fraction(fraction, self.cfg)

    def current_lr(self) -> float:
        """The rate of the next step: by step, or by the share of the budget spent."""
        return self.lr_for(self.step, None if self.budget_s is None else self.fraction)

    @property
    def eval_reserve_s(self) -> float:
        """The time a budget run holds back for its final evaluation: a typical evaluation (the lower median of
        the latest EVALS_KEPT, so that one stalled evaluation does not count). While only one is known, at most
        EVAL_RESERVE_SHARE of the budget: a cold first evaluation costs the steps no more than that. Evaluations
        that are all slow are held back in full: the final one still ends inside the budget."""
        times = self.eval_times_s
        if not times:
            return 0.0
        typical = statistics.median_low(times)
        return min(typical, EVAL_RESERVE_SHARE * self.budget_s) if len(times) == 1 and self.budget_s else typical

    def _horizon_s(self) -> float:
        """When the last step must end: the budget, less the time held back for the final evaluation."""
        return max(self.budget_s - self.eval_reserve_s, 1e-9)

    def _time_step(self, took: float) -> None:
        """Take a step's duration into the running average, a stalled step at most STEP_STALL_FACTOR times it."""
        if self.step_s == 0:
            self.step_s = took
        else:
            self.step_s = 0.9 * self.step_s + 0.1 * min(took, STEP_STALL_FACTOR * self.step_s)

    def _advance_fraction(self, now: float) -> None:
        """Move the budget's share spent to `now`; 1 (the floor) for a step after which no other fits.

        The share is counted from the end of the first step, not from the start: the evaluation at step 0
        and a first step that compiles the model (minutes, on some GPUs) must not eat the warm-up.
        """
        if self.schedule_start_s is None:
            return
        horizon = self._horizon_s()
        if now + 2 * self.step_s > horizon:
            spent = 1.0
        else:
            spent = (now - self.schedule_start_s) / max(horizon - self.schedule_start_s, 1e-9)
        self.fraction = min(1.0, max(self.fraction, spent))

    def _out_of_training(self, now: float) -> bool:
        """Steps: max_iters reached (or this fit() ran past max_minutes). Budget: no step fits before the
        final evaluation, and the last one was taken at the floor (if a slow step ate the time of the planned
        last one, one more is taken)."""
        if self.budget_s is None:
            return self.step >= self.cfg.max_iters or self._past_max_minutes(now)
        return now + self.step_s > self._horizon_s() and self.fraction >= 1.0

    def _past_max_minutes(self, now: float) -> bool:
        return self.cfg.max_minutes is not None and now - self.clock_s > 60.0 * self.cfg.max_minutes

    def _eval_interval_s(self) -> float | None:
        if self.cfg.eval_interval_minutes is not None:
            return 60.0 * self.cfg.eval_interval_minutes
        return None if self.budget_s is None else self.budget_s / 5

    def _eval_due(self, now: float, last_eval_at: float) -> bool:
        interval = self._eval_interval_s()
        if interval is None:
            return self.step % self.cfg.eval_interval == 0
        if self.budget_s is not None and self._horizon_s() - now - self.eval_reserve_s < interval / 2:
            return False  # the final evaluation comes soon enough (this one would leave under half an interval)
        return now - last_eval_at >= interval

    def _continue_schedule(self, training: dict) -> None:
        """After loading a checkpoint: carry on its clock, and re-warm if the schedule was changed."""
        history = training["history"]
        self.clock_s = training.get("clock_s", history[-1]["elapsed_s"] if history else 0.0)
        old_eval_s = training.get("eval_s")  # checkpoints written before eval_times_s kept the latest one only
        self.eval_times_s = list(training.get("eval_times_s", [old_eval_s] if old_eval_s else []))
        self.step_s = training.get("step_s", 0.0)
        changed = changed_schedule(training.get("train_config", {}), asdict(self.cfg))
        if not changed:  # the same run, continued exactly
            self.fraction = training.get("fraction", 0.0)
            self.schedule_start_s = training.get("schedule_start_s", 0.0 if self.step else None)
            self.rewarm = Rewarm(**training["rewarm"]) if training.get("rewarm") else None
            return
        from_lr = history[-1]["lr"] if history else self.cfg.min_lr
        warming_up = still_warming_up(training.get("train_config", {}), self.step, training.get("fraction", 0.0))
        self.fraction = 0.0
        if self.budget_s is not None:
            self.schedule_start_s = training.get("schedule_start_s") or 0.0
            self._advance_fraction(self.clock_s)
        self.rewarm = Rewarm(self.step, self.fraction, from_lr, height=1.0 if warming_up else self.cfg.extend_height)

    def is_finished(self) -> bool:
        """True when this run's schedule is done: max_iters reached, or the budget spent."""
        return self._out_of_training(self.elapsed_s())

    def resume_note(self) -> str:
        """After resume(): where the run stands, and how to train further when it is finished."""
        if self.budget_s is None:
            where = f"at step {self.step} of {self.cfg.max_iters}"
            further = f"max_iters (e.g. {2 * self.cfg.max_iters}: --max-iters)"
        else:
            where = f"at step {self.step}, {self.clock_s / 60:.2f} of {self.cfg.budget_minutes:g} minutes"
            further = f"budget_minutes (the total, e.g. {2 * self.cfg.budget_minutes:g}: --minutes)"
        if self.is_finished():
            if Rewarm(self.step, 1.0, self.cfg.min_lr, height=self.cfg.extend_height).from_zero(self.cfg):
                how = (
                    f"it annealed to about zero, so the learning rate then climbs over the first {EXTEND_RAMP:.0%} "
                    f"of the added training to {EXTEND_FROM_ZERO:g} of its peak and anneals to {EXTEND_END:g} of that"
                )
            elif self.cfg.extend_height == 0:
                how = (
                    f"the learning rate then holds its floor for the first {EXTEND_RAMP:.0%} of the added training "
                    f"and anneals to {EXTEND_END:g} of it, never rising (the model keeps what annealing gave it)"
                )
            else:
                how = (
                    f"the learning rate then climbs from its floor (over the first {EXTEND_RAMP:.0%} of the added "
                    f"training) to {self.cfg.extend_height:.0%} of the way to its peak, and decays to the floor again"
                )
            return f"{where}: already finished. To train further, raise {further}; {how}."
        if self.rewarm is not None and self.rewarm.step == self.step:
            start, top, end = (f(self.cfg) for f in (self.rewarm.start, self.rewarm.plateau, self.rewarm.end))
            how = f"climbs slowly from {start:.2e} to {top:.2e}" if top > start else f"holds {start:.2e}"
            return (
                f"{where}: the schedule changed, so the learning rate {how}, then decays to {end:.2e} over the "
                "training left, instead of jumping to the middle of the new schedule."
            )
        return f"{where}."

    # ---- the loop ---------------------------------------------------------------------------
    def fit(self) -> list[dict]:
        """Train until max_iters or the time budget, evaluating every eval_interval steps (or minutes)."""
        cfg, tokens_per_step = self.cfg, self.cfg.batch_size * self.model.config.block_size
        self.model.train()
        for cb in self.callbacks:
            cb.on_train_start(self)
        self._fit_started = self.clock()
        window_start, window_steps = self._fit_started, 0  # for the rate of tokens/s between evaluations
        last_eval_at = self.clock_s if self.history else -math.inf  # when the latest evaluation ended
        step_began = None  # the clock when the step just taken began (None: no step since the last look)
        bar = self._progress_bar()
        try:
            while True:
                # The one read of the shared clock per step (under torchrun, a broadcast from rank 0): it ends
                # the step just taken (its logging and callbacks included) and decides what comes next.
                reading = self.clock()
                now = self._elapsed_at(reading)
                if step_began is not None:
                    self._count_step(reading - step_began, now, bar)
                    step_began = None
                if window_start is None:  # the first look after an evaluation
                    window_start, last_eval_at = reading, now
                finished = self._out_of_training(now)
                evaluated_here = bool(self.history) and self.history[-1]["step"] == self.step
                if (finished or self._eval_due(now, last_eval_at)) and not evaluated_here:
                    rate = tokens_per_step * window_steps / max(reading - window_start, 1e-9)
                    record = self.evaluate(rate, now)
                    bar.set_postfix(train=f"{record['train_loss']:.3f}", val=f"{record['val_loss']:.3f}")
                    window_start, window_steps = None, 0
                    continue  # the evaluation took time: look at the clock again
                if finished:
                    out_of_steps = self.budget_s is None and self.step >= cfg.max_iters  # else budget or max_minutes
                    self.stopped_because = "max_iters reached" if out_of_steps else "time budget spent"
                    break
                if self.budget_s is not None:
                    self._advance_fraction(now)
                step_began = reading
                loss = self._guarded_step()
                self.step += 1
                window_steps += 1
                if self.step % cfg.log_interval == 0:
                    loss_value = distributed.all_reduce_mean(loss).item()  # the only host sync between evaluations
                    self.train_loss = loss_value
                    if not math.isfinite(loss_value):
                        self._stop_on_nan(f"the training loss at step {self.step}")
                    bar.set_postfix(loss=f"{loss_value:.3f}", lr=f"{self.current_lr():.1e}", refresh=False)
                for cb in self.callbacks:
                    cb.on_step(self, self.step)
        except KeyboardInterrupt:
            self.stopped_because = f"interrupted at step {self.step}"
            if self.launch.is_main:
                print(f"\nStopped at step {self.step}; the best checkpoint so far is kept.")
        finally:
            self.clock_s, self._fit_started = self.elapsed_s(), None
            bar.close()
        for cb in self.callbacks:
            cb.on_train_end(self)
        return self.history

    def _progress_bar(self):
        """A bar of steps, or of seconds for a budget run; rank 0's alone under torchrun."""
        quiet = not self.cfg.progress or not self.launch.is_main
        if self.budget_s is None:
            return tqdm(total=self.cfg.max_iters, initial=self.step, disable=quiet, desc="training", unit="step")
        return tqdm(
            total=round(self.budget_s),
            initial=min(round(self.budget_s), int(self.clock_s)),
            disable=quiet,
            desc=f"training for {self.cfg.budget_minutes:g} min",
            unit="s",
        )

    def _count_step(self, took: float, now: float, bar) -> None:
        """After a step, at the next look at the clock: its duration (from the look before it to this one,
        so on a GPU the queued work that the logging waited for is counted too) and the progress bar."""
        if self.schedule_start_s is None:  # the first step: often slow (set-up, compiling), so not timed
            self.schedule_start_s = now
        else:
            self._time_step(took)
        if self.budget_s is None:
            bar.update(1)
        else:
            bar.update(max(0, min(bar.total, int(now)) - bar.n))
