"""Several processes, one model: torchrun's environment, PyTorch's process group, and the few collectives
training needs.

    torchrun --standalone --nproc_per_node=2 -m helpers.train --preset laptop --out runs/ddp

torchrun starts N copies of the command and gives each RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR and
MASTER_PORT. `init()` reads them and joins PyTorch's process group (NCCL between CUDA GPUs, gloo on the
CPU); the Trainer wraps its model in PyTorch's DistributedDataParallel and asks this module who it is and
for the collectives below. Without torchrun every function here is a no-op: one process, rank 0 of 1, no
process group, training exactly as before.

What it knows: torchrun's variables, torch.distributed, how a global batch splits over processes and
gradient-accumulation steps. What it does not know: models, data, files (the Trainer decides who writes).
"""

from __future__ import annotations

import contextlib
import inspect
import os
import sys
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist

from .errors import WorkshopError, require

# What torchrun sets for every process; init_process_group("env://") and the GPU choice need all of them.
TORCHRUN_VARS = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
BACKENDS = ("auto", "nccl", "gloo")
FIX_LAUNCH = (
    "Fix: start several processes with torchrun (torchrun --standalone --nproc_per_node=2 -m helpers.train ...), "
    "which sets all of them, or unset them all to train in one process."
)


@dataclass(frozen=True)
class Launch:
    """Where this process stands: its rank among all processes, its rank on this machine, how many in all."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes files and prints."""
        return self.rank == 0

    @property
    def rows(self) -> slice | None:
        """This rank's rows of every global batch (rank r takes rows r, r+W, r+2W, ...); None in one process."""
        return None if self.world_size == 1 else slice(self.rank, None, self.world_size)


def launch_from_env(environ: Mapping[str, str] | None = None) -> Launch:
    """This process's place, read from torchrun's variables (none set: one process, rank 0 of 1)."""
    env = os.environ if environ is None else environ
    present = [name for name in TORCHRUN_VARS if env.get(name, "") != ""]
    if not present:
        return Launch()
    missing = [name for name in TORCHRUN_VARS if name not in present]
    require(
        not missing,
        f"Half of a torchrun launch: {', '.join(present)} set but {', '.join(missing)} not. {FIX_LAUNCH}",
    )
    values = {}
    for name in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_PORT"):
        try:
            values[name] = int(env[name])
        except ValueError:
            raise WorkshopError(f"{name}={env[name]!r} is not a whole number. {FIX_LAUNCH}") from None
    rank, local_rank, world = values["RANK"], values["LOCAL_RANK"], values["WORLD_SIZE"]
    require(world >= 1, f"WORLD_SIZE={world}: there must be at least one process. {FIX_LAUNCH}")
    require(0 <= rank < world, f"RANK={rank} is not a rank of WORLD_SIZE={world} (0 to {world - 1}). {FIX_LAUNCH}")
    require(0 <= local_rank <= rank, f"LOCAL_RANK={local_rank} does not fit RANK={rank}. {FIX_LAUNCH}")
    require(0 < values["MASTER_PORT"] < 65536, f"MASTER_PORT={values['MASTER_PORT']} is not a port. {FIX_LAUNCH}")
    return Launch(rank, local_rank, world)


def backend_for(device: str, backend: str = "auto") -> str:
    """The process-group backend for `device`: NCCL between CUDA GPUs, gloo on the CPU; or the one asked for."""
    require(backend in BACKENDS, f"Unknown backend {backend!r}. Fix: use one of {', '.join(BACKENDS)}.")
    require(
        device != "mps",
        "PyTorch has no multi-process backend for Apple GPUs (MPS). Fix: train in one process "
        "(python -m helpers.train), or under torchrun on the CPU (--device cpu).",
    )
    chosen = ("nccl" if device == "cuda" else "gloo") if backend == "auto" else backend
    require(
        chosen != "nccl" or device == "cuda",
        f"NCCL connects CUDA GPUs, but this run trains on {device}. Fix: --dist-backend gloo (or auto), "
        "or --device cuda on a machine with NVIDIA GPUs.",
    )
    available = dist.is_available() and (dist.is_nccl_available() if chosen == "nccl" else dist.is_gloo_available())
    require(
        available,
        f"This PyTorch ({torch.__version__}) has no {chosen} backend"
        + (" (NCCL comes with the CUDA builds for Linux)" if chosen == "nccl" else "")
        + ". Fix: "
        + ("--dist-backend gloo, or install PyTorch's CUDA build." if chosen == "nccl" else "install a full PyTorch."),
    )
    return chosen


def init(device: str, backend: str = "auto") -> Launch:
    """Join the process group torchrun set up (a no-op in one process); returns this process's place.

    On CUDA each process takes the GPU of its LOCAL_RANK, so "cuda" means that GPU from here on.
    A torchrun launch of one process (--nproc_per_node=1) trains as one process, without a group.
    """
    launch = launch_from_env()
    if launch.world_size == 1 or (dist.is_available() and dist.is_initialized()):
        return launch
    chosen = backend_for(device, backend)
    if device == "cuda":
        gpus = torch.cuda.device_count()
        require(
            launch.local_rank < gpus,
            f"LOCAL_RANK={launch.local_rank}, but this machine has {gpus} GPU(s). "
            f"Fix: --nproc_per_node at most {gpus} (one process per GPU).",
        )
        torch.cuda.set_device(launch.local_rank)
    dist.init_process_group(chosen, rank=launch.rank, world_size=launch.world_size)  # rendezvous: MASTER_ADDR/PORT
    return launch


def active() -> bool:
    """True inside a process group of more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def current() -> Launch:
    """This process's place in the running process group (rank 0 of 1 without one).

    Refuses a torchrun launch of several processes that never joined the group: each would train alone
    and all would write the same files.
    """
    if active():
        return Launch(dist.get_rank(), int(os.environ.get("LOCAL_RANK", 0)), dist.get_world_size())
    world = os.environ.get("WORLD_SIZE", "")
    require(
        world in ("", "1"),
        f"This process runs under torchrun (WORLD_SIZE={world}) but has not joined the process group. "
        "Fix: call helpers.distributed.init(device) before creating the Trainer (python -m helpers.train does).",
    )
    return Launch()


def teardown(in_step: bool = True) -> None:
    """Leave the process group (at the end of a run; harmless without one).

    `in_step`: every rank got here normally, so they first wait for each other. Without that wait a rank
    that finishes first tears its connections down while another still has Gloo work in flight, and that
    rank can abort at exit ("terminate called without an active exception"). After a failure on this rank
    the others may never arrive, so no wait (torchrun stops them).
    """
    if dist.is_available() and dist.is_initialized():
        if in_step:
            dist.barrier()
        dist.destroy_process_group()
    _cpu_groups.clear()


# --------------------------------------------------------------------------------------------
# The global batch


def micro_batch_size(batch_size: int, world_size: int = 1, grad_accum_steps: int = 1) -> int:
    """Rows each process computes at once: the global batch split over processes and accumulation steps.

    `batch_size` is the global batch (sequences per optimizer step, all processes together), so a run
    sees the same batches whatever the number of processes; it must split evenly.
    """
    parts = world_size * grad_accum_steps
    if batch_size % parts == 0:
        return batch_size // parts
    other = []
    if world_size > 1:
        counts = [n for n in range(1, batch_size + 1) if batch_size % (n * grad_accum_steps) == 0]
        other += [f"--nproc_per_node {_one_of(counts)}"] if counts else []
    if grad_accum_steps > 1 and batch_size % world_size == 0:
        steps = [a for a in range(1, batch_size // world_size + 1) if batch_size % (world_size * a) == 0]
        other += [f"--grad-accum {_one_of(steps)}"]
    raise WorkshopError(
        f"--batch-size {batch_size} (the global batch: all processes and accumulation steps together) cannot be "
        f"split evenly over {world_size} process(es) × {grad_accum_steps} accumulation step(s) = {parts} parts. "
        f"Fix: a --batch-size divisible by {parts} (e.g. {parts * max(1, batch_size // parts)})"
        + "".join(f", or {o}" for o in other)
        + "."
    )


def _one_of(numbers: list[int]) -> str:
    shown = [str(n) for n in numbers[:8]]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]


def check_launch(launch: Launch, batch_size: int, grad_accum_steps: int, device: str, backend: str = "auto") -> None:
    """Refuse, before any process waits for another, a batch that does not split or a backend that cannot work."""
    micro_batch_size(batch_size, launch.world_size, grad_accum_steps)
    if launch.world_size > 1:
        backend_for(device, backend)


def rank_seed(seed: int, rank: int, step: int) -> int:
    """A seed for the dropout of `rank` from `step` on: different for every rank, the same on every resume."""
    return int(np.random.SeedSequence([seed, rank, step]).generate_state(1)[0])


# --------------------------------------------------------------------------------------------
# Collectives (each returns its input untouched in one process)


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    if not active():
        return tensor
    total = tensor.detach().clone()
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total


def all_reduce_mean(tensor: torch.Tensor) -> torch.Tensor:
    """The mean of `tensor` over all processes (e.g. each rank's loss over its rows of the batch)."""
    if not active():
        return tensor
    return all_reduce_sum(tensor) / dist.get_world_size()


_cpu_groups: dict = {}


def _cpu_group():
    """A gloo group for small numbers: with NCCL, a broadcast through the GPU would wait for the GPU."""
    if dist.get_backend() == "gloo":
        return None  # the default group already works on CPU tensors
    if "gloo" not in _cpu_groups:
        _cpu_groups["gloo"] = dist.new_group(backend="gloo")
    return _cpu_groups["gloo"]


def broadcast_from_main(value: float) -> float:
    """Rank 0's `value` on every rank."""
    if not active():
        return value
    held = torch.tensor([value], dtype=torch.float64)
    dist.broadcast(held, src=0, group=_cpu_group())
    return held.item()


def agreed_clock(clock: Callable[[], float]) -> Callable[[], float]:
    """`clock`, read on rank 0 and shared with every rank at each call, so that decisions taken on the clock
    (stop now, evaluate now, how far a time budget is spent) are the same on every rank.

    Every rank must call it the same number of times, in the training loop (never from one rank's callback).
    In one process it is `clock` itself.
    """
    if not active():
        return clock
    _cpu_group()  # created now, by every rank together

    def rank0_clock() -> float:
        return broadcast_from_main(clock())

    return rank0_clock


def barrier() -> None:
    if active():
        dist.barrier()


# --------------------------------------------------------------------------------------------
# The model, and who speaks


def wrap_model(model: torch.nn.Module, device: str) -> torch.nn.Module | None:
    """PyTorch's DistributedDataParallel around `model` (None in one process): it starts every rank from
    rank 0's weights and averages the gradients over all ranks during backward."""
    if not active():
        return None
    from torch.nn.parallel import DistributedDataParallel

    # The model's only buffer is the constant causal mask, the same everywhere: no need to sync it at each
    # forward (the option's name changed in PyTorch 2.13).
    new_name = "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters
    no_buffer_sync = {"forward_sync_buffers" if new_name else "broadcast_buffers": False}
    device_ids = [torch.cuda.current_device()] if device == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids, **no_buffer_sync)


@contextlib.contextmanager
def quiet_unless_main(launch: Launch):
    """Ranks other than 0 print nothing and warn nothing (their stderr stays open for errors)."""
    if launch.is_main:
        yield
        return
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@contextlib.contextmanager
def reported_once_per_machine(launch: Launch):
    """Before the process group is joined, errors come from the arguments and files, the same on every
    process of a machine: its first process (LOCAL_RANK 0) reports them, the others exit with the same
    status quietly. Once training runs, every process reports its own (one GPU can run out of memory)."""
    try:
        yield
    except WorkshopError:
        if launch.local_rank == 0 or active():
            raise
        sys.exit(2)
