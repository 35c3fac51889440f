"""The Llama export (issue 21): a model with rotary positions, RMSNorm and SwiGLU becomes a transformers
LlamaForCausalLM that computes what ours computes (logits within 1e-4), grouped-query heads, untied heads
and no biases included; a model that is neither GPT-2 nor Llama is refused by name. No corpus needed.
"""

from __future__ import annotations

import json

import pytest
import torch
import transformers
from test_export import assert_logits_equal, scrambled_model, training_record

from helpers import CharTokenizer, GPTConfig, WorkshopError, generate, save_checkpoint
from helpers.export import main as export_main
from helpers.huggingface import check_exportable, export_run, load_with_transformers

TOKENIZER = CharTokenizer.from_text("\n !'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz,.:;?-&$3")
LLAMA = dict(rope=True, norm="rmsnorm", mlp="swiglu")
VARIANTS = {
    "tied": {},
    "gqa+untied": dict(n_kv_head=2, tie_weights=False),
    "mqa, no biases, base 500": dict(n_kv_head=1, bias=False, rope_base=500.0),
}


def config(**options) -> GPTConfig:
    base = dict(vocab_size=TOKENIZER.vocab_size, block_size=32, n_layer=2, n_head=4, n_embd=64)
    return GPTConfig(**{**base, **LLAMA, **options})


@pytest.fixture(scope="module", params=VARIANTS, ids=list(VARIANTS))
def exported(request, tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    save_checkpoint(
        run / "best.safetensors",
        scrambled_model(config(**VARIANTS[request.param])),
        TOKENIZER,
        training=training_record(),
    )
    export = export_run(run, tmp_path_factory.mktemp("exports") / "modern")
    hf_model, _ = load_with_transformers(export.folder)
    return export, hf_model


def test_logits_equal_ours(exported):
    export, hf_model = exported
    assert_logits_equal(export.model, hf_model)


def test_greedy_generation_through_transformers_equals_ours(exported):
    export, hf_model = exported
    prompt = torch.tensor([TOKENIZER.encode("ROMEO:\n")])
    new = export.model.config.block_size - prompt.size(1)
    ours = generate(export.model, prompt, new, temperature=0)  # our KV cache, with every option
    theirs = hf_model.generate(prompt, max_new_tokens=new, do_sample=False)
    assert theirs.tolist() == ours.tolist()
    assert len(set(ours[0, prompt.size(1) :].tolist())) > 1


def test_the_weights_load_without_missing_or_unexpected_tensors(exported):
    export, _ = exported
    _, info = transformers.AutoModelForCausalLM.from_pretrained(str(export.folder), output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]


def test_config_says_what_the_model_is(exported):
    export, hf_model = exported
    saved = json.loads((export.folder / "config.json").read_text())
    c = export.model.config
    assert saved["architectures"] == ["LlamaForCausalLM"] and saved["model_type"] == "llama"
    assert (saved["num_attention_heads"], saved["num_key_value_heads"], saved["head_dim"]) == (
        c.n_head,
        c.kv_heads,
        c.head_size,
    )
    assert saved["rope_parameters"]["rope_theta"] == c.rope_base and saved["attention_bias"] == c.bias
    tied = hf_model.lm_head.weight.data_ptr() == hf_model.model.embed_tokens.weight.data_ptr()
    assert tied == c.tie_weights
    card = (export.folder / "README.md").read_text()
    assert "`LlamaForCausalLM`" in card and "rotary positions, RMSNorm, SwiGLU" in card


def test_cli_exports_and_checks_a_llama_model(tmp_path, capsys):
    save_checkpoint(tmp_path / "best.safetensors", scrambled_model(config(n_kv_head=2)), TOKENIZER)
    assert export_main(["--run", str(tmp_path), "--out", str(tmp_path / "out")]) == 0
    assert "matches ours, largest logit difference" in capsys.readouterr().out


@pytest.mark.parametrize(
    "options, in_the_way",
    [
        (dict(qk_norm=True), r"qk_norm=True"),
        (dict(norm="layernorm"), r"norm='layernorm'"),
        (dict(mlp="relu2"), r"mlp='relu2'"),
        (dict(rope=False), r"rope=False"),
    ],
)
def test_a_model_that_is_neither_gpt2_nor_llama_is_refused_by_name(tmp_path, options, in_the_way):
    with pytest.raises(WorkshopError, match=r"nor as a LlamaForCausalLM.*this model has " + in_the_way + r".*Fix"):
        check_exportable(config(**options))
    save_checkpoint(tmp_path / "c.safetensors", scrambled_model(config(**options)), TOKENIZER)
    with pytest.raises(WorkshopError, match=in_the_way):
        export_run(tmp_path / "c.safetensors", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_which_architecture_each_config_exports_as():
    assert check_exportable(GPTConfig()) == "gpt2"
    assert check_exportable(GPTConfig(n_kv_head=6)) == "gpt2"  # as many key/value heads as heads: standard
    assert check_exportable(config()) == "llama"
    assert check_exportable(config(n_kv_head=1, tie_weights=False, bias=False)) == "llama"
