"""Our GPT as a Hugging Face transformers model: GPT-2's or Llama's layout, a tokenizer transformers loads, a model card.

What it knows: with GPTConfig's defaults our model is GPT-2's architecture (pre-LayerNorm blocks, learned
positions, exact GELU, tied head), so a checkpoint maps onto `GPT2LMHeadModel` weight by weight. With rotary
positions, RMSNorm and SwiGLU (notebook 10) it is Llama's, and maps onto `LlamaForCausalLM`: q, k and v are
split out of `c_attn` into q_proj, k_proj and v_proj (grouped-query heads and an untied head carry over),
and our rotary embedding already uses transformers' "rotate half" pairing, so no permutation is needed. Two things differ in layout:
GPT-2 stores its projections as `Conv1D`, whose weight is the transpose of `nn.Linear`'s (in × out, not
out × in), and it always has biases (a model trained with `bias=False` gets zero biases, which computes
the same). q, k and v are fused in one `c_attn` in both, in the same order and head layout.
The character tokenizer becomes a `tokenizers` WordLevel model over single characters, the byte-level BPE
one a `tokenizers` BPE model with GPT-2's byte symbols, set up to merge by tiktoken's rule as ours does.

What it does not know: the Hub (pushing is documented in the README, never done here), other
architectures (a model that is neither GPT-2 nor Llama, e.g. with QK-norm, is refused, naming the settings), and other tokenizers
until they are added to TOKENIZER_EXPORTS (one function each). Writing the files needs only `safetensors`
and `tokenizers`; `transformers` is needed only to check the export (compare_with_transformers).
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import save as save_safetensors

from .bpe import BPETokenizer
from .checkpoint import Checkpoint, load_checkpoint, load_weights, save_checkpoint
from .data import CharTokenizer
from .download import sha256_of
from .errors import WorkshopError, require
from .model import GPT, GPTConfig
from .modern import RMS_EPS, swiglu_hidden_size
from .pretrained import PUBLISHED_NAME

EXPORT_MARKER = "gpt_from_scratch"  # a key in config.json: this folder is an export we may replace

# How each GPTConfig field maps to GPT-2. A field missing here has no known GPT-2 equivalent: refused.
GPT2_FIELDS = {
    "vocab_size": "vocab_size",
    "block_size": "n_positions",
    "n_layer": "n_layer",
    "n_head": "n_head",
    "n_embd": "n_embd",
    "dropout": None,  # → resid_pdrop, embd_pdrop, attn_pdrop (ours uses one rate for all three)
    "bias": None,  # False → zero biases (GPT-2 always has them; zeros compute the same)
    "fast_attention": None,  # how attention is computed, not what: no weights, no setting
}

# Linear weights that GPT-2 stores as Conv1D (transposed).
CONV1D_SUFFIXES = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


# What Llama's architecture needs of our options; rope_base, n_kv_head and tie_weights map to its config.
LLAMA_NEEDS = {"rope": True, "norm": "rmsnorm", "mlp": "swiglu", "qk_norm": False}
LLAMA_FIELDS = {*GPT2_FIELDS, *LLAMA_NEEDS, "rope_base", "n_kv_head", "tie_weights"}


def check_exportable(config: GPTConfig | dict) -> str:
    """The transformers architecture that computes this model exactly, "gpt2" or "llama"; else a WorkshopError
    naming the settings in the way."""
    fields = config.to_dict() if isinstance(config, GPTConfig) else dict(config)
    if fields.get("n_kv_head") == fields.get("n_head"):
        fields["n_kv_head"] = None  # one key/value head per query head: standard attention
    gpt2 = GPTConfig().to_dict()  # the architecture options at their defaults are GPT-2's own
    not_gpt2 = sorted(k for k in set(fields) - set(GPT2_FIELDS) if k not in gpt2 or fields[k] != gpt2[k])
    if not not_gpt2:
        return "gpt2"
    not_llama = [f"{k}={fields.get(k)!r}" for k, v in LLAMA_NEEDS.items() if fields.get(k) != v]
    not_llama += [f"{k}={fields[k]!r}" for k in sorted(set(fields) - LLAMA_FIELDS)]
    if not not_llama:
        return "llama"
    raise WorkshopError(
        f"This model has settings GPT-2 has no equivalent for ({', '.join(f'{k}={fields[k]!r}' for k in not_gpt2)}), "
        "so it cannot be exported as a GPT2LMHeadModel; nor as a LlamaForCausalLM, which needs "
        f"{', '.join(f'{k}={v!r}' for k, v in LLAMA_NEEDS.items())} (this model has {', '.join(not_llama)}). "
        "Fix: export a model with the GPT-2 architecture (the presets' models) or Llama's (notebook 10), "
        "or teach helpers/huggingface.py how to map those settings."
    )


def gpt2_config(model: GPT) -> dict:
    """config.json for transformers' GPT2LMHeadModel, with this model's shape, LayerNorm eps and dropout."""
    c = model.config
    require(
        check_exportable(c) == "gpt2", "gpt2_config needs a model with GPT-2's architecture (llama_config: Llama's)."
    )
    return {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "vocab_size": c.vocab_size,
        "n_positions": c.block_size,
        "n_embd": c.n_embd,
        "n_layer": c.n_layer,
        "n_head": c.n_head,
        "n_inner": 4 * c.n_embd,
        "activation_function": "gelu",  # exact GELU (nn.GELU()); GPT-2's default gelu_new is the tanh approximation
        "layer_norm_epsilon": model.transformer.ln_f.eps,
        "resid_pdrop": c.dropout,
        "embd_pdrop": c.dropout,
        "attn_pdrop": c.dropout,
        "scale_attn_weights": True,  # scores / sqrt(head_size)
        "scale_attn_by_inverse_layer_idx": False,
        "reorder_and_upcast_attn": False,
        "tie_word_embeddings": True,
        "initializer_range": 0.02,
        "bos_token_id": None,  # a character vocabulary has no special tokens
        "eos_token_id": None,
        "pad_token_id": None,
        "use_cache": True,
        "torch_dtype": "float32",
        EXPORT_MARKER: {"bias": c.bias, "fast_attention": c.fast_attention},
    }


def gpt2_state_dict(model: GPT) -> dict[str, torch.Tensor]:
    """Our weights under GPT2LMHeadModel's names: Linear → Conv1D transposed, missing biases as zeros.

    lm_head.weight is left out: it is tied to transformer.wte.weight (tie_word_embeddings), as in ours.
    """
    out = {}
    for name, module in model.named_modules():
        if isinstance(module, (torch.nn.Linear, torch.nn.LayerNorm)) and name != "lm_head":
            weight = module.weight.detach()
            out[f"{name}.weight"] = weight.t() if f"{name}.weight".endswith(CONV1D_SUFFIXES) else weight
            bias = module.bias.detach() if module.bias is not None else torch.zeros(weight.shape[0])
            out[f"{name}.bias"] = bias
    for name in ("transformer.wte.weight", "transformer.wpe.weight"):
        out[name] = model.get_parameter(name).detach()
    return {k: v.to("cpu", torch.float32).contiguous() for k, v in out.items()}


def llama_config(model: GPT) -> dict:
    """config.json for transformers' LlamaForCausalLM: rotary positions, RMSNorm, SwiGLU, grouped-query heads."""
    c = model.config
    require(check_exportable(c) == "llama", "llama_config needs rope, RMSNorm and SwiGLU (gpt2_config: GPT-2's).")
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": c.vocab_size,
        "hidden_size": c.n_embd,
        "intermediate_size": swiglu_hidden_size(c.n_embd),
        "num_hidden_layers": c.n_layer,
        "num_attention_heads": c.n_head,
        "num_key_value_heads": c.kv_heads,
        "head_dim": c.head_size,
        "hidden_act": "silu",
        "max_position_embeddings": c.block_size,
        "rms_norm_eps": RMS_EPS,
        "rope_theta": c.rope_base,  # transformers before 5 reads this; 5 and later read rope_parameters
        "rope_parameters": {"rope_type": "default", "rope_theta": c.rope_base},
        "attention_bias": c.bias,
        "mlp_bias": c.bias,
        "attention_dropout": c.dropout,
        "tie_word_embeddings": c.tie_weights,
        "initializer_range": 0.02,
        "bos_token_id": None,
        "eos_token_id": None,
        "pad_token_id": None,
        "use_cache": True,
        "torch_dtype": "float32",
        EXPORT_MARKER: {"fast_attention": c.fast_attention},
    }


def llama_state_dict(model: GPT) -> dict[str, torch.Tensor]:
    """Our weights under LlamaForCausalLM's names: c_attn split into q/k/v_proj, SwiGLU's c_gate/c_fc/c_proj
    as gate/up/down_proj. lm_head.weight only when the head is untied (else tie_word_embeddings)."""
    c = model.config
    kv = c.kv_heads * c.head_size
    out = {
        "model.embed_tokens.weight": model.transformer.wte.weight,
        "model.norm.weight": model.transformer.ln_f.weight,
    }
    if not c.tie_weights:
        out["lm_head.weight"] = model.lm_head.weight
    for i, block in enumerate(model.transformer.h):
        ours, theirs = block.attn, f"model.layers.{i}"
        out[f"{theirs}.input_layernorm.weight"] = block.ln_1.weight
        out[f"{theirs}.post_attention_layernorm.weight"] = block.ln_2.weight
        for kind in ("weight", "bias") if c.bias else ("weight",):
            q, k, v = getattr(ours.c_attn, kind).split([c.n_embd, kv, kv])
            out[f"{theirs}.self_attn.q_proj.{kind}"] = q
            out[f"{theirs}.self_attn.k_proj.{kind}"] = k
            out[f"{theirs}.self_attn.v_proj.{kind}"] = v
            out[f"{theirs}.self_attn.o_proj.{kind}"] = getattr(ours.c_proj, kind)
            for mine, name in (("c_gate", "gate_proj"), ("c_fc", "up_proj"), ("c_proj", "down_proj")):
                out[f"{theirs}.mlp.{name}.{kind}"] = getattr(getattr(block.mlp, mine), kind)
    return {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in out.items()}


# How each architecture is written: its config.json, its weights, the class transformers builds.
ARCHITECTURES = {
    "gpt2": (gpt2_config, gpt2_state_dict, "GPT2LMHeadModel"),
    "llama": (llama_config, llama_state_dict, "LlamaForCausalLM"),
}


# --------------------------------------------------------------------------------------------
# Tokenizers: one function per tokenizer class, returning a `tokenizers.Tokenizer`.


def _tokenizers_library():
    try:
        import tokenizers
    except ImportError:
        raise WorkshopError(
            "Exporting the tokenizer needs the `tokenizers` library. Fix: pip install transformers "
            "(it brings tokenizers along, and you will want it to load the export)."
        ) from None
    return tokenizers


def char_tokenizer(tokenizer: CharTokenizer):
    """Each character one token: a WordLevel vocabulary, a pre-tokenizer that cuts after every character
    (newline and spaces included) and a decoder that joins the pieces with nothing between them."""
    tk = _tokenizers_library()
    vocab = {ch: i for i, ch in enumerate(tokenizer.chars)}
    hf = tk.Tokenizer(tk.models.WordLevel(vocab=vocab, unk_token=None))  # unseen characters are an error, as in ours
    hf.pre_tokenizer = tk.pre_tokenizers.Split(tk.Regex(r"[\s\S]"), behavior="isolated")
    hf.decoder = tk.decoders.Fuse()
    return hf


def byte_symbols() -> list[str]:
    """GPT-2's printable stand-in for each byte value (`bytes_to_unicode`), which `tokenizers`' ByteLevel
    steps use: printable bytes stand for themselves, the others (space, controls, ...) for 256 + n."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    symbols, extra = {}, 0
    for b in range(256):
        if b in printable:
            symbols[b] = chr(b)
        else:
            symbols[b] = chr(256 + extra)
            extra += 1
    return [symbols[b] for b in range(256)]


def bpe_tokenizer(tokenizer: BPETokenizer):
    """Byte-level BPE as `tokenizers` writes GPT-2's: our regex cuts the chunks, ByteLevel spells each byte as
    a printable symbol, and a BPE model with our vocabulary merges them.

    Two rules are set so that it encodes exactly as ours (tiktoken's rule): a chunk that is a token is that
    token (`ignore_merges`), and every way of splitting a token into two tokens is a merge with that token's
    rank, because ours merges any adjacent pair whose joined bytes are a token, not only the pair it learned.
    """
    tk = _tokenizers_library()
    symbols = byte_symbols()
    spell = ["".join(symbols[b] for b in token) for token in tokenizer.vocab]
    ranks = tokenizer.mergeable_ranks()
    merges = []
    for token in tokenizer.vocab:  # in rank order: the merges for earlier tokens come first
        splits = [
            (ranks[token[:k]], ranks[token[k:]])
            for k in range(1, len(token))
            if token[:k] in ranks and token[k:] in ranks
        ]
        merges += [(spell[left], spell[right]) for left, right in sorted(splits)]
    hf = tk.Tokenizer(tk.models.BPE(vocab={s: i for i, s in enumerate(spell)}, merges=merges, ignore_merges=True))
    hf.pre_tokenizer = tk.pre_tokenizers.Sequence(
        [
            tk.pre_tokenizers.Split(tk.Regex(tokenizer.pattern), behavior="isolated"),
            tk.pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    hf.decoder = tk.decoders.ByteLevel()
    return hf


# Adding a tokenizer to the export: write its function and add one entry here.
TOKENIZER_EXPORTS = {CharTokenizer: char_tokenizer, BPETokenizer: bpe_tokenizer}


def hf_tokenizer(tokenizer):
    """The `tokenizers.Tokenizer` for one of our tokenizers, or a WorkshopError naming what is missing."""
    build = TOKENIZER_EXPORTS.get(type(tokenizer))
    require(
        build is not None,
        f"No export for the tokenizer {type(tokenizer).__name__}. Fix: add a function for it to "
        "TOKENIZER_EXPORTS in helpers/huggingface.py (char_tokenizer is the example).",
    )
    return build(tokenizer)


def tokenizer_config(model: GPT) -> dict:
    """tokenizer_config.json: which transformers class wraps tokenizer.json, and no 'clean-up' that would
    delete the space in " ," or " 's" when decoding (the text must come back exactly)."""
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "clean_up_tokenization_spaces": False,
        "model_max_length": model.config.block_size,
    }


# --------------------------------------------------------------------------------------------
# The model card


def _training_summary(training: dict) -> tuple[list[str], float | None, int | None]:
    """Markdown lines with the training settings, and the best val loss the run measured and its step."""
    history = training.get("history") or []
    cfg = training.get("train_config") or {}
    best = min(history, key=lambda r: r["val_loss"]) if history else None
    lines = []
    if cfg:
        shown = (
            "batch_size",
            "max_iters",
            "learning_rate",
            "min_lr",
            "warmup_iters",
            "weight_decay",
            "grad_clip",
            "seed",
        )
        lines += [f"| {k} | {cfg[k]} |" for k in shown if k in cfg]
    if "precision" in training:
        lines.append(f"| precision | {training['precision']} |")
    if "step" in training:
        lines.append(f"| steps trained | {training['step']} |")
    if lines:
        lines = ["| setting | value |", "|---|---|", *lines]
    return lines, (best["val_loss"] if best else training.get("best_val_loss")), (best["step"] if best else None)


def _example_prompt(tokenizer) -> tuple[str, int]:
    """A prompt for the card's example, and its length in tokens: "ROMEO:" if the vocabulary can spell it."""
    try:
        return "ROMEO:", len(tokenizer.encode("ROMEO:"))
    except WorkshopError:
        return tokenizer.decode([tokenizer.vocab_size - 1]), 1


def model_card(model: GPT, tokenizer, training: dict, folder: Path) -> str:
    """README.md for the export: what the model is, how it was trained, what it measured, how to use it."""
    c = model.config
    settings, val_loss, best_step = _training_summary(training)
    if val_loss is not None and math.isfinite(val_loss):
        per_char = f" = {val_loss / math.log(2):.3f} bits per character" if isinstance(tokenizer, CharTokenizer) else ""
        at = f" at step {best_step}" if best_step is not None else ""
        measured = f"Best validation loss: **{val_loss:.4f}** nats per token{per_char}{at} (measured during training)."
    else:
        measured = "Validation loss: not recorded in this checkpoint."
    kind = {
        CharTokenizer: "one token per character",
        BPETokenizer: f"byte-level BPE ({tokenizer.vocab_size - 256} merges learned from the corpus)",
    }.get(type(tokenizer), type(tokenizer).__name__)
    prompt, prompt_tokens = _example_prompt(tokenizer)
    architecture = check_exportable(c)
    hf_class = ARCHITECTURES[architecture][2]
    head = "embedding and head tied" if c.tie_weights else "embedding and head untied"
    modern = f", rotary positions, RMSNorm, SwiGLU, {c.kv_heads} key/value heads" if architecture == "llama" else ""
    return "\n".join(
        [
            "---",
            "library_name: transformers",
            "pipeline_tag: text-generation",
            "license: mit",
            f"tags: [{architecture}, gpt-from-scratch, character-level]"
            if isinstance(tokenizer, CharTokenizer)
            else f"tags: [{architecture}, gpt-from-scratch]",
            "---",
            "",
            f"# {folder.name}",
            "",
            "A small GPT trained from scratch in the [gpt-from-scratch](https://github.com/gpt-from-scratch/"
            f"gpt-from-scratch) workshop, exported to the Hugging Face `{hf_class}` format by "
            "`python -m helpers.export`.",
            "",
            "## Model",
            "",
            f"- {c.n_layer} layers × {c.n_head} heads × {c.n_embd} wide, context {c.block_size} tokens, "
            f"{model.num_params():,} parameters ({head}{modern})",
            f"- vocabulary: {tokenizer.vocab_size} tokens, {kind}",
            f"- dropout {c.dropout} (used when fine-tuning, off for generation)",
            "",
            "## Training",
            "",
            measured,
            "",
            *(settings or ["Training settings: not recorded in this checkpoint."]),
            "",
            "## Use",
            "",
            "```python",
            "from transformers import pipeline",
            "",
            f'generate = pipeline("text-generation", model="{folder.as_posix()}")  # or its Hub name: you/{folder.name}',
            f"print(generate({prompt!r}, max_new_tokens={max(1, min(200, c.block_size - prompt_tokens))}, "
            "do_sample=True, "
            'temperature=0.8, top_k=50)[0]["generated_text"])',
            "```",
            "",
            f"The context is {c.block_size} tokens, prompt included: transformers does not slide the window, "
            "so keep prompt + new tokens within it (gpt-from-scratch's own `generate` crops instead).",
            "",
            f"`{PUBLISHED_NAME}` is the same model in gpt-from-scratch's own checkpoint format, for "
            '`helpers.load_pretrained("<its URL>#sha256=<its SHA-256>")`.',
            "",
        ]
    )


# --------------------------------------------------------------------------------------------
# The export


@dataclass
class Export:
    model: GPT  # what was exported, in eval mode
    folder: Path
    published: Path  # PUBLISHED_NAME inside `folder`
    published_sha256: str


def export_checkpoint(checkpoint: Checkpoint, out: str | os.PathLike) -> Export:
    """Write `out/`: config.json, model.safetensors, tokenizer files, README.md and PUBLISHED_NAME.

    Written into a hidden folder beside `out` and renamed into place, so `out` is never half-written.
    An existing `out` is replaced only if it is empty or an earlier export; anything else is refused.
    """
    write_config, state_dict, _ = ARCHITECTURES[check_exportable(checkpoint.config)]
    model = load_weights(GPT(checkpoint.config), checkpoint).eval()
    hf_tok = hf_tokenizer(checkpoint.tokenizer)  # before writing anything: fails fast without `tokenizers`
    require(
        hf_tok.get_vocab_size() == model.config.vocab_size,
        f"The tokenizer has {hf_tok.get_vocab_size()} tokens but the model {model.config.vocab_size}. "
        "Fix: export a checkpoint written by helpers.train (it stores both together).",
    )
    out = Path(out).expanduser()  # as given: the model card's example names it
    target = out.resolve()
    _check_replaceable(target)
    tmp = target.parent / f".{target.name}.export-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        (tmp / "config.json").write_text(json.dumps(write_config(model), indent=2) + "\n")
        (tmp / "model.safetensors").write_bytes(save_safetensors(state_dict(model), metadata={"format": "pt"}))
        hf_tok.save(str(tmp / "tokenizer.json"))
        (tmp / "tokenizer_config.json").write_text(json.dumps(tokenizer_config(model), indent=2) + "\n")
        (tmp / "README.md").write_text(model_card(model, checkpoint.tokenizer, checkpoint.training, out))
        save_checkpoint(tmp / PUBLISHED_NAME, model, checkpoint.tokenizer, training=_published_training(checkpoint))
        _swap_into_place(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return Export(model, out, out / PUBLISHED_NAME, sha256_of(out / PUBLISHED_NAME))


def _published_training(checkpoint: Checkpoint) -> dict:
    """What the published checkpoint keeps of the training record: settings, step, losses (no RNG, no optimizer)."""
    keep = ("step", "history", "best_val_loss", "train_config", "precision")
    return {k: checkpoint.training[k] for k in keep if k in checkpoint.training}


def export_run(run: str | os.PathLike, out: str | os.PathLike) -> Export:
    """Export a run folder (its best checkpoint) or a checkpoint file to a transformers folder `out`."""
    return export_checkpoint(load_checkpoint(run), out)


def _is_earlier_export(folder: Path) -> bool:
    try:
        return EXPORT_MARKER in json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return False


def _check_replaceable(out: Path) -> None:
    if out.exists():
        require(
            out.is_dir() and (not any(out.iterdir()) or _is_earlier_export(out)),
            f"{out} already exists and is not an earlier export (it would be overwritten). "
            "Fix: choose a new folder for the export, e.g. --out exports/NAME.",
        )


def _swap_into_place(tmp: Path, out: Path) -> None:
    """Rename the finished export to `out`; an earlier export there is moved aside first, then deleted."""
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists() and any(out.iterdir()):
        os.replace(out, old)
    elif out.exists():
        out.rmdir()
    try:
        os.replace(tmp, out)
    except OSError:
        if old.exists():
            os.replace(old, out)  # put the earlier export back
        raise
    shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# Checking an export with transformers itself


def load_with_transformers(folder: str | os.PathLike):
    """(model, tokenizer) from an export folder through transformers' Auto classes; needs `transformers`."""
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError:
        raise WorkshopError("Checking the export needs transformers. Fix: pip install transformers.") from None
    model = AutoModelForCausalLM.from_pretrained(str(folder)).eval()
    return model, AutoTokenizer.from_pretrained(str(folder))


@torch.no_grad()
def compare_with_transformers(folder: str | os.PathLike, model: GPT, seed: int = 0) -> float:
    """Largest |logit difference| between `model` and its export on random tokens (a full context, batch 2)."""
    hf_model, _ = load_with_transformers(folder)
    c = model.config
    idx = torch.randint(c.vocab_size, (2, c.block_size), generator=torch.Generator().manual_seed(seed))
    ours, _ = model.eval()(idx)
    theirs = hf_model(idx).logits
    return (ours - theirs).abs().max().item()
