"""Checkpoints: one safetensors file per checkpoint, written atomically, loaded without running code.

A checkpoint holds the model config, the tokenizer (characters or BPE merges), the weights and (for resuming)
the optimizer and grad-scaler state, the RNG states, the step, the loss history and the best
validation loss. Tensors live in the safetensors body; everything else is JSON in its header.
A SHA-256 of the tensors guards against a file corrupted on disk or in a half-finished copy.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from .data import CharTokenizer, Tokenizer, tokenizer_from_dict
from .errors import WorkshopError, require
from .model import GPT, GPTConfig

FORMAT = "gpt-from-scratch/1"
BEST, LAST = "best.safetensors", "last.safetensors"


@dataclass
class Checkpoint:
    config: GPTConfig
    tokenizer: Tokenizer
    model_state: dict[str, torch.Tensor]
    optimizer_state: dict | None = None
    scaler_state: dict | None = None
    training: dict = field(default_factory=dict)  # step, history, best_val_loss, train config
    rng: dict[str, torch.Tensor] = field(default_factory=dict)


def _model_tensors(model: GPT) -> dict[str, torch.Tensor]:
    state = model.state_dict()
    if model.config.tie_weights:
        state.pop("lm_head.weight", None)  # tied to transformer.wte.weight: stored once
    return state


def _tensor_digest(tensors: dict[str, torch.Tensor]) -> str:
    digest = hashlib.sha256()
    for name in sorted(tensors):
        digest.update(name.encode())
        digest.update(tensors[name].contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _split_optimizer_state(optimizer_state: dict) -> tuple[dict[str, torch.Tensor], dict]:
    """Optimizer state → tensors for the body and a JSON-able rest for the header."""
    tensors, scalars = {}, {}
    for param_id, slots in optimizer_state["state"].items():
        for slot, value in slots.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{param_id}.{slot}"] = value
            else:
                scalars[f"{param_id}.{slot}"] = value
    return tensors, {"param_groups": optimizer_state["param_groups"], "scalars": scalars}


def _join_optimizer_state(tensors: dict[str, torch.Tensor], header: dict) -> dict:
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        if name.startswith("optim."):
            _, param_id, slot = name.split(".", 2)
            state.setdefault(int(param_id), {})[slot] = value
    for key, value in header["scalars"].items():
        param_id, slot = key.split(".", 1)
        state.setdefault(int(param_id), {})[slot] = value
    return {"state": state, "param_groups": header["param_groups"]}


def write_atomically(path: Path, payload: bytes) -> None:
    """Write to a temporary file beside `path`, fsync, then rename over it.

    A rename is atomic, so a crash or kill at any moment leaves either the old file or the new
    one, never a mixture. A kill mid-write leaves only a hidden `.<name>.<pid>.tmp` beside it,
    which `remove_leftover_temp_files` clears when the run resumes.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_folder(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself survive a power cut (POSIX); folders cannot be opened on Windows."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_leftover_temp_files(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files of checkpoint writes that were killed half-way (call it on resume)."""
    leftovers = sorted(Path(folder).glob(".*.safetensors.*.tmp"))
    for tmp in leftovers:
        tmp.unlink(missing_ok=True)
    return leftovers


def save_checkpoint(
    path: str | os.PathLike,
    model: GPT,
    tokenizer: Tokenizer,
    optimizer: torch.optim.Optimizer | None = None,
    scaler=None,
    training: dict | None = None,
    rng: dict[str, torch.Tensor] | None = None,
    copies: tuple = (),
) -> Path:
    """Save everything needed to sample from (or resume) this model, atomically, to `path` and to each of
    `copies` (the same bytes: serialised and hashed once, e.g. a new best that is also the last)."""
    tensors = {f"model.{k}": v for k, v in _model_tensors(model).items()}
    header = {
        "format": FORMAT,
        "config": model.config.to_dict(),
        "tokenizer": tokenizer.to_dict(),
        "training": training or {},
    }
    if optimizer is not None:
        optim_tensors, header["optimizer"] = _split_optimizer_state(optimizer.state_dict())
        tensors.update(optim_tensors)
    if scaler is not None and scaler.is_enabled():
        header["scaler"] = scaler.state_dict()
    tensors.update({f"rng.{k}": v for k, v in (rng or {}).items()})
    tensors = {k: v.detach().to("cpu", copy=True).contiguous() for k, v in tensors.items()}
    header["sha256"] = _tensor_digest(tensors)
    metadata = {key: json.dumps(value) for key, value in header.items()}
    payload = save_safetensors(tensors, metadata=metadata)
    for target in (path, *copies):
        write_atomically(Path(target), payload)
    return Path(path)


def resolve_checkpoint_path(path: str | os.PathLike) -> Path:
    """A run folder means its best checkpoint; a file is taken as it is."""
    path = Path(path).expanduser()
    if path.is_dir():
        path = path / BEST
    require(
        path.is_file(),
        f"No checkpoint at {path}. Fix: train one first (python -m helpers.train --preset laptop "
        f"--out runs/laptop), or pass the run folder that holds {BEST}.",
    )
    return path


def read_header(path: str | os.PathLike) -> dict:
    """A checkpoint's header (config, tokenizer, training settings and state), JSON-decoded, without reading
    its tensors: quick for any size of model."""
    path = resolve_checkpoint_path(path)
    try:
        with safe_open(path, framework="pt") as f:
            metadata = f.metadata() or {}
        header = {key: json.loads(value) for key, value in metadata.items()}
    except (SafetensorError, OSError, ValueError) as err:
        raise WorkshopError(f"{path} is unreadable ({type(err).__name__}: {err}). {FIX_OTHER_CHECKPOINT}") from None
    require(
        header.get("format") == FORMAT and "config" in header,
        f"{path} is not a gpt-from-scratch checkpoint. {FIX_OTHER_CHECKPOINT}",
    )
    return header


def describe_run(folder: str | os.PathLike) -> str | None:
    """What a run folder holds, e.g. 'step 700, best val loss 1.8034'; None when it holds no checkpoint.

    Reads only a checkpoint's header, so it is quick for any size of model; an unreadable one is named.
    """
    checkpoints = [Path(folder) / name for name in (LAST, BEST) if (Path(folder) / name).is_file()]
    if not checkpoints:
        return None
    try:
        training = read_header(checkpoints[0])["training"]
        return f"step {training['step']}, best val loss {training['best_val_loss']:.4f}"
    except (WorkshopError, KeyError, TypeError, ValueError):
        return " and ".join(path.name for path in checkpoints)


# GPTConfig's options beyond GPT-2 (notebook 10): a model and a checkpoint must agree on each.
ARCHITECTURE_OPTIONS = ("rope", "rope_base", "norm", "mlp", "qk_norm", "n_kv_head", "tie_weights")

FIX_OTHER_CHECKPOINT = "Fix: use another checkpoint of the run (best/last.safetensors) or train again."


def load_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu") -> Checkpoint:
    """Read and verify a checkpoint. Never executes code from the file (safetensors holds only data)."""
    path = resolve_checkpoint_path(path)
    raw = path.read_bytes()
    metadata = _read_metadata(raw, path)
    require(
        metadata.get("format") == json.dumps(FORMAT),
        f"{path} is a safetensors file, but not a gpt-from-scratch checkpoint "
        f"(format {metadata.get('format')!r}, expected {FORMAT!r}). "
        "Fix: load checkpoints written by helpers.train / save_checkpoint.",
    )
    try:
        header = {key: json.loads(value) for key, value in metadata.items()}
        tensors = load_safetensors(raw)
    except (SafetensorError, ValueError) as err:
        raise WorkshopError(f"{path} is corrupted ({err}). {FIX_OTHER_CHECKPOINT}") from None
    require(
        header.get("sha256") == _tensor_digest(tensors),
        f"{path} is corrupted: its tensors do not match the checksum saved with them. {FIX_OTHER_CHECKPOINT}",
    )
    try:
        config = GPTConfig(**header["config"])
        tokenizer = _read_tokenizer(header, path)
        require(
            tokenizer.vocab_size == config.vocab_size,
            f"{path} is corrupted: its tokenizer has {tokenizer.vocab_size} tokens but its model "
            f"{config.vocab_size}. {FIX_OTHER_CHECKPOINT}",
        )
        model_state = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
        if config.tie_weights:  # stored once (checkpoints from before the option are all tied)
            model_state["lm_head.weight"] = model_state["transformer.wte.weight"]
        optimizer_state = None
        if "optimizer" in header:
            optimizer_state = _join_optimizer_state(tensors, header["optimizer"])
    except (KeyError, TypeError, ValueError) as err:
        if isinstance(err, WorkshopError):
            raise
        raise WorkshopError(f"{path} is incomplete ({type(err).__name__}: {err}). {FIX_OTHER_CHECKPOINT}") from None
    return Checkpoint(
        config=config,
        tokenizer=tokenizer,
        model_state={k: v.to(device) for k, v in model_state.items()},
        optimizer_state=optimizer_state,
        scaler_state=header.get("scaler"),
        training=header.get("training", {}),
        rng={k[len("rng.") :]: v for k, v in tensors.items() if k.startswith("rng.")},
    )


def _read_tokenizer(header: dict, path: Path) -> Tokenizer:
    """The tokenizer saved in the header; checkpoints from before BPE hold only the characters ("chars")."""
    try:
        if "tokenizer" in header:
            return tokenizer_from_dict(header["tokenizer"])
        return CharTokenizer(header["chars"])
    except WorkshopError as err:
        raise WorkshopError(f"{path} holds a corrupted tokenizer: {err} {FIX_OTHER_CHECKPOINT}") from None


def _read_metadata(raw: bytes, path: Path) -> dict[str, str]:
    """The safetensors header's string metadata, or a WorkshopError saying what the file is instead.

    Only JSON is parsed here: a pickle (what torch.save writes) is recognised and refused, never loaded.
    """
    header_len = int.from_bytes(raw[:8], "little") if len(raw) >= 8 else -1
    if header_len < 0 or 8 + header_len > len(raw):
        if raw[:4] == b"PK\x03\x04" or raw[:2] in (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05"):
            raise WorkshopError(
                f"{path} is a PyTorch pickle (torch.save), not a safetensors checkpoint; a pickle can run code "
                "when loaded, so it is not opened. Fix: load checkpoints written by helpers.train / save_checkpoint."
            )
        raise WorkshopError(
            f"{path} is truncated or not a checkpoint at all: its {len(raw)} bytes do not hold the header it "
            f"starts with. {FIX_OTHER_CHECKPOINT}"
        )
    try:
        header = json.loads(raw[8 : 8 + header_len])
        metadata = header.pop("__metadata__", None) or {}
        data_needed = max((entry["data_offsets"][1] for entry in header.values()), default=0)
        require(all(isinstance(v, str) for v in metadata.values()), "metadata values must be strings")
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as err:  # JSON errors are ValueErrors
        raise WorkshopError(
            f"{path} is corrupted or not a checkpoint: its header is unreadable ({type(err).__name__}). "
            f"{FIX_OTHER_CHECKPOINT}"
        ) from None
    data_present = len(raw) - 8 - header_len
    require(
        data_present >= data_needed,
        f"{path} is truncated: it holds {data_present:,} of its {data_needed:,} bytes of tensors (a copy or "
        f"download that did not finish?). {FIX_OTHER_CHECKPOINT}",
    )
    return metadata


def load_weights(model: GPT, checkpoint: Checkpoint, fix: str | None = None) -> GPT:
    """Copy a checkpoint's weights into `model`, refusing if the shapes of the two disagree."""
    # n_kv_head=None means one per query head: compared as the number of heads it means
    mine = {**model.config.to_dict(), "n_kv_head": model.config.kv_heads}
    theirs = {**checkpoint.config.to_dict(), "n_kv_head": checkpoint.config.kv_heads}
    shape_keys = ("vocab_size", "block_size", "n_layer", "n_head", "n_embd", "bias", *ARCHITECTURE_OPTIONS)
    diffs = [f"{k}: checkpoint {theirs[k]} vs model {mine[k]}" for k in shape_keys if mine[k] != theirs[k]]
    fix = (
        fix or "Fix: build the model from the checkpoint's config (load_model does this), or retrain with this config."
    )
    require(not diffs, "The checkpoint does not match this model (" + "; ".join(diffs) + "). " + fix)
    try:
        model.load_state_dict(checkpoint.model_state)
    except RuntimeError as err:  # a file whose tensors disagree with its own config
        first_line = str(err).strip().splitlines()[-1].strip()
        raise WorkshopError(f"The checkpoint's weights do not fit its config ({first_line}). {fix}") from None
    return model


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[GPT, Tokenizer]:
    """A ready-to-sample model (in eval mode) and its tokenizer, from a run folder or a checkpoint file."""
    checkpoint = load_checkpoint(path, device)
    model = load_weights(GPT(checkpoint.config).to(device), checkpoint)
    return model.eval(), checkpoint.tokenizer
