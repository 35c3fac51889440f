"""The Hugging Face export (helpers.huggingface, python -m helpers.export): transformers computes what our
model computes, generates what ours generates, tokenizes as ours does; bad input is refused clearly.

Needs `transformers` (the test extra; CI installs it from requirements.txt).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
from dataclasses import asdict

import pytest
import torch
import transformers
from safetensors.torch import save_file

from helpers import GPT, BPETokenizer, CharTokenizer, GPTConfig, TrainConfig, WorkshopError, generate, save_checkpoint
from helpers.data import split_text
from helpers.export import main as export_main
from helpers.huggingface import (
    TOKENIZER_EXPORTS,
    check_exportable,
    export_checkpoint,
    export_run,
    hf_tokenizer,
    load_with_transformers,
)
from helpers.pretrained import PUBLISHED_NAME, load_pretrained

TOLERANCE = 1e-4


def scrambled_model(config: GPTConfig, seed: int = 0) -> GPT:
    """A model whose every parameter, LayerNorms and biases included, is random and far from its initial
    value: a swapped, untransposed or dropped tensor anywhere changes the logits (an untrained model's
    LayerNorm weights of one and biases of zero would hide such mistakes)."""
    torch.manual_seed(seed)
    model = GPT(config)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.3)
    return model.eval()


def training_record(val_loss=1.4321) -> dict:
    history = [
        {"step": 0, "train_loss": 4.2, "val_loss": 4.19, "lr": 1e-4},
        {"step": 250, "train_loss": 1.3, "val_loss": val_loss, "lr": 1e-3},
        {"step": 300, "train_loss": 1.2, "val_loss": val_loss + 0.01, "lr": 1e-4},
    ]
    cfg = asdict(TrainConfig(batch_size=32, max_iters=300, learning_rate=6e-3, min_lr=6e-4, warmup_iters=50))
    return {"step": 300, "history": history, "best_val_loss": val_loss, "train_config": cfg, "precision": "bf16"}


@pytest.fixture(scope="module")
def char_run(tmp_path_factory, corpus):
    """A run folder holding best.safetensors of a scrambled character model over the corpus's vocabulary."""
    run = tmp_path_factory.mktemp("run")
    config = GPTConfig(vocab_size=corpus.tokenizer.vocab_size, block_size=32, n_layer=2, n_head=4, n_embd=64)
    model = scrambled_model(config)
    save_checkpoint(run / "best.safetensors", model, corpus.tokenizer, training=training_record())
    return run


@pytest.fixture(scope="module")
def exported(char_run, tmp_path_factory):
    folder = tmp_path_factory.mktemp("exports") / "laptop"
    export = export_run(char_run, folder)
    hf_model, hf_tok = load_with_transformers(folder)
    return export, hf_model, hf_tok


def assert_logits_equal(ours, hf_model):
    """Ours and the export's logits agree within TOLERANCE on a full context and a short one, and are far
    from zero (so that the comparison means something)."""
    c = ours.config
    idx = torch.randint(c.vocab_size, (4, c.block_size), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        diff = (ours(idx)[0] - hf_model(idx).logits).abs().max().item()
        short = (ours(idx[:, :5])[0] - hf_model(idx[:, :5]).logits).abs().max().item()
        assert ours(idx)[0].abs().max() > 1.0
    assert diff < TOLERANCE and short < TOLERANCE, (diff, short)


def test_logits_equal_ours(exported):
    export, hf_model, _ = exported
    assert_logits_equal(export.model, hf_model)


def test_greedy_generation_through_transformers_equals_ours(exported, corpus):
    export, hf_model, _ = exported
    prompt = torch.tensor([corpus.tokenizer.encode("ROMEO:\n")])
    new = export.model.config.block_size - prompt.size(1)  # transformers does not slide past the context
    ours = generate(export.model, prompt, new, temperature=0)
    theirs = hf_model.generate(prompt, max_new_tokens=new, do_sample=False)
    assert theirs.tolist() == ours.tolist()
    assert len(set(ours[0, prompt.size(1) :].tolist())) > 1  # not one character repeated: a real comparison


def test_the_weights_load_without_missing_or_unexpected_tensors(exported):
    export, _, _ = exported
    _, info = transformers.AutoModelForCausalLM.from_pretrained(str(export.folder), output_loading_info=True)
    assert not info["missing_keys"]
    assert not info["unexpected_keys"] and not info["mismatched_keys"]


def test_config_says_what_the_model_is(exported):
    export, hf_model, _ = exported
    config = json.loads((export.folder / "config.json").read_text())
    assert config["architectures"] == ["GPT2LMHeadModel"] and config["model_type"] == "gpt2"
    assert config["activation_function"] == "gelu"  # exact GELU, like nn.GELU(): not GPT-2's tanh "gelu_new"
    assert config["layer_norm_epsilon"] == export.model.transformer.ln_f.eps == 1e-5
    c = export.model.config
    assert (config["n_positions"], config["n_layer"], config["n_head"], config["n_embd"]) == (
        c.block_size,
        c.n_layer,
        c.n_head,
        c.n_embd,
    )
    assert config["resid_pdrop"] == config["embd_pdrop"] == config["attn_pdrop"] == c.dropout
    assert hf_model.lm_head.weight.data_ptr() == hf_model.transformer.wte.weight.data_ptr()  # tied, as ours


def test_tokenizer_round_trips_the_corpus(exported, corpus):
    _, _, hf_tok = exported
    ids = hf_tok(corpus.text)["input_ids"]
    assert ids == corpus.tokenizer.encode(corpus.text)
    assert hf_tok.decode(ids) == corpus.text
    assert hf_tok.decode(hf_tok(" , 's  \n\n")["input_ids"]) == " , 's  \n\n"  # no 'clean-up' of spaces


def test_pipeline_text_generation_works_on_the_export(exported, corpus):
    export, _, _ = exported
    generator = transformers.pipeline("text-generation", model=str(export.folder), device="cpu")
    out = generator("ROMEO:", max_new_tokens=12, do_sample=False)[0]["generated_text"]
    expected = corpus.tokenizer.decode(
        generate(export.model, torch.tensor([corpus.tokenizer.encode("ROMEO:")]), 12, temperature=0)[0]
    )
    assert out == expected


def test_model_card_has_the_settings_and_the_measured_val_loss(exported):
    export, _, _ = exported
    card = (export.folder / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: transformers\npipeline_tag: text-generation\n")
    assert "**1.4321** nats per token = 2.066 bits per character at step 250" in card
    assert "| learning_rate | 0.006 |" in card and "| max_iters | 300 |" in card and "| precision | bf16 |" in card
    assert "2 layers × 4 heads × 64 wide, context 32 tokens" in card
    assert 'pipeline("text-generation"' in card


def run_card_example(folder) -> str:
    """Execute the Python example of the model card in `folder`; what it printed."""
    example = (folder / "README.md").read_text().split("```python\n")[1].split("```")[0]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(example, {})
    return printed.getvalue()


def test_the_model_cards_example_runs(exported):
    export, _, _ = exported
    printed = run_card_example(export.folder)
    assert printed.startswith("ROMEO:") and len(printed) > len("ROMEO:\n")


def test_the_published_file_loads_with_load_pretrained(exported):
    export, _, _ = exported
    model, tokenizer = load_pretrained(f"{export.published}#sha256={export.published_sha256}", device="cpu")
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), export.model.state_dict().values()))
    assert tokenizer.vocab_size == export.model.config.vocab_size
    assert export.published.name == PUBLISHED_NAME


def test_a_model_without_biases_exports_exactly(tmp_path, small_tokenizer):
    config = GPTConfig(vocab_size=small_tokenizer.vocab_size, block_size=8, n_layer=1, n_head=2, n_embd=16, bias=False)
    model = scrambled_model(config, seed=3)
    save_checkpoint(tmp_path / "run" / "best.safetensors", model, small_tokenizer)
    export = export_run(tmp_path / "run", tmp_path / "out")
    hf_model, _ = load_with_transformers(export.folder)
    idx = torch.randint(config.vocab_size, (2, 8), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert (model(idx)[0] - hf_model(idx).logits).abs().max().item() < TOLERANCE
    assert "Validation loss: not recorded" in (export.folder / "README.md").read_text()
    assert run_card_example(export.folder).startswith("w")  # no "ROMEO:" in this vocabulary: its last character


def test_cli_exports_and_checks(char_run, tmp_path, capsys):
    assert export_main(["--run", str(char_run), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "matches ours, largest logit difference" in out
    assert f'pretrained = "<URL of {PUBLISHED_NAME}>#sha256=' in out
    assert (tmp_path / "out" / "model.safetensors").is_file()


def test_a_second_export_replaces_the_first(char_run, tmp_path):
    out = tmp_path / "out"
    export_run(char_run, out)
    (out / "stale.txt").write_text("from an older export")
    export_run(char_run, out)
    assert not (out / "stale.txt").exists() and (out / "config.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary folders left


# --------------------------------------------------------------------------------------------
# A model trained with byte-level BPE

UNSEEN = ["Roméo ☺", "naïve café — 12,5 €", "日本語 👩‍👩‍👧", " , 's  \n\n\t\r x", "I'll've 1234567"]


@pytest.fixture(scope="module")
def bpe_exported(corpus, tmp_path_factory):
    """A scrambled model over a 512-token BPE learned from the corpus's train split, exported and loaded back."""
    tokenizer = BPETokenizer.train(split_text(corpus.text)[0], 512)
    config = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=32, n_layer=2, n_head=4, n_embd=64)
    run = tmp_path_factory.mktemp("bpe-run")
    save_checkpoint(run / "best.safetensors", scrambled_model(config, seed=5), tokenizer, training=training_record(3.1))
    export = export_run(run, tmp_path_factory.mktemp("exports") / "bpe")
    hf_model, hf_tok = load_with_transformers(export.folder)
    return export, hf_model, hf_tok, tokenizer


def test_bpe_export_logits_equal_ours(bpe_exported):
    export, hf_model, _, _ = bpe_exported
    c = export.model.config
    idx = torch.randint(c.vocab_size, (4, c.block_size), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ours = export.model(idx)[0]
        assert (ours - hf_model(idx).logits).abs().max().item() < TOLERANCE
    assert ours.abs().max() > 1.0


def test_bpe_export_tokenizer_gives_our_ids_on_the_corpus_and_on_unseen_text(bpe_exported, corpus):
    _, _, hf_tok, tokenizer = bpe_exported
    assert isinstance(hf_tok, transformers.PreTrainedTokenizerFast) and len(hf_tok) == tokenizer.vocab_size
    ids = hf_tok(corpus.text)["input_ids"]
    assert ids == tokenizer.encode(corpus.text)
    assert len(ids) < len(corpus.text) / 1.5  # real merges, not bytes: the comparison means something
    assert hf_tok.decode(ids) == corpus.text
    for text in UNSEEN:
        assert hf_tok(text)["input_ids"] == tokenizer.encode(text), text
        assert hf_tok.decode(hf_tok(text)["input_ids"]) == text
    smile = tokenizer.encode("☺")  # a character cut in the middle decodes as U+FFFD in both
    assert hf_tok.decode(smile[:-1]) == tokenizer.decode(smile[:-1])


def test_bpe_export_greedy_generation_and_pipeline_equal_ours(bpe_exported):
    export, hf_model, hf_tok, tokenizer = bpe_exported
    prompt = torch.tensor([tokenizer.encode("ROMEO:\nBut soft")])
    new = export.model.config.block_size - prompt.size(1)
    ours = generate(export.model, prompt, new, temperature=0)
    assert hf_model.generate(prompt, max_new_tokens=new, do_sample=False).tolist() == ours.tolist()
    assert len(set(ours[0, prompt.size(1) :].tolist())) > 1
    generator = transformers.pipeline("text-generation", model=str(export.folder), device="cpu")
    out = generator("ROMEO:\nBut soft", max_new_tokens=new, do_sample=False)[0]["generated_text"]
    assert out == tokenizer.decode(ours[0])
    assert hf_tok.decode(ours[0]) == tokenizer.decode(ours[0])


def test_bpe_export_merges_by_joined_bytes_as_ours_does():
    """The hand-made case where merging by learned pairs (Hugging Face's rule) and by joined bytes (ours,
    tiktoken's) differ: tokens 'bc', 'ab', then 'abc' from ('ab', 'c'). In "abc", 'bc' merges first; only
    a merge for ('a', 'bc') makes 'abc' of it, so the export must list every split of a token."""
    a, b, c = ord("a"), ord("b"), ord("c")
    tokenizer = BPETokenizer([(b, c), (a, b), (257, c)])
    hf = hf_tokenizer(tokenizer)
    for text in ("abc", "abcd", "xabc", "abcabc", "ab", "bcab", "ab c abc"):
        assert hf.encode(text).ids == tokenizer.encode(text), text
    assert hf.encode("abcd").ids == [258, ord("d")]


def test_bpe_export_model_card_names_the_tokenizer_and_its_example_runs(bpe_exported):
    export, _, _, _ = bpe_exported
    card = (export.folder / "README.md").read_text()
    assert "vocabulary: 512 tokens, byte-level BPE (256 merges learned from the corpus)" in card
    assert "**3.1000** nats per token at step 250" in card  # no bits per character: a token is not a character
    assert "character-level" not in card
    assert run_card_example(export.folder).startswith("ROMEO:")


def test_the_published_bpe_file_loads_with_its_tokenizer(bpe_exported):
    export, _, _, tokenizer = bpe_exported
    _, loaded = load_pretrained(f"{export.published}#sha256={export.published_sha256}", device="cpu")
    assert loaded == tokenizer


# --------------------------------------------------------------------------------------------
# Bad input


def test_no_run_folder(tmp_path, capsys):
    assert export_main(["--run", str(tmp_path / "nothing"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: No checkpoint at") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_a_weights_only_file_is_refused(tmp_path, tiny_model):
    plain = tmp_path / "weights.safetensors"
    save_file({k: v.contiguous() for k, v in tiny_model.state_dict().items() if k != "lm_head.weight"}, plain)
    with pytest.raises(WorkshopError, match="not a gpt-from-scratch checkpoint"):
        export_run(plain, tmp_path / "out")
    pickled = tmp_path / "model.pt"
    buffer = io.BytesIO()
    torch.save(tiny_model.state_dict(), buffer)
    pickled.write_bytes(buffer.getvalue())
    with pytest.raises(WorkshopError, match="is a PyTorch pickle"):
        export_run(pickled, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_an_unsupported_config_is_refused_by_name():
    fields = {**GPTConfig().to_dict(), "rotary_positions": True, "norm": "rms"}
    with pytest.raises(WorkshopError, match=r"no equivalent for \(norm='rms', rotary_positions=True\)"):
        check_exportable(fields)
    check_exportable(GPTConfig())  # the workshop's own architecture is fine


def test_a_tokenizer_without_an_export_is_refused():
    class OtherTokenizer(CharTokenizer):
        pass

    with pytest.raises(WorkshopError, match="No export for the tokenizer OtherTokenizer.*TOKENIZER_EXPORTS"):
        hf_tokenizer(OtherTokenizer(["a", "b"]))
    assert CharTokenizer in TOKENIZER_EXPORTS and BPETokenizer in TOKENIZER_EXPORTS


def test_a_folder_with_other_files_is_not_overwritten(char_run, tmp_path):
    out = tmp_path / "project"
    out.mkdir()
    (out / "README.md").write_text("my own readme")
    with pytest.raises(WorkshopError, match="already exists and is not an earlier export.*Fix: choose a new folder"):
        export_run(char_run, out)
    assert (out / "README.md").read_text() == "my own readme" and sorted(p.name for p in out.iterdir()) == ["README.md"]


def test_a_vocabulary_that_does_not_fit_the_model_is_refused(tmp_path, tiny_model):
    checkpoint_path = save_checkpoint(tmp_path / "c.safetensors", tiny_model, CharTokenizer.from_text("abc"))
    from helpers.checkpoint import load_checkpoint

    with pytest.raises(WorkshopError, match="its tokenizer has 3 tokens but its model 65"):
        export_run(checkpoint_path, tmp_path / "out")  # load_checkpoint refuses it
    good = save_checkpoint(tmp_path / "good.safetensors", tiny_model, CharTokenizer([chr(i) for i in range(65)]))
    mismatched = dataclasses.replace(load_checkpoint(good), tokenizer=CharTokenizer.from_text("abc"))
    with pytest.raises(WorkshopError, match="The tokenizer has 3 tokens but the model 65"):
        export_checkpoint(mismatched, tmp_path / "out")  # a Checkpoint made in code: the export checks too
    assert not (tmp_path / "out").exists()
