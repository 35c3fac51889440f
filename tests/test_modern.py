"""Today's architecture options (issue 21): each against a hand computation or a property, with the KV cache,
in checkpoints, as bad input, and the Muon optimizer. No corpus needed; fp32 throughout."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors
from test_checkpoint import TEXT, tiny_trainer
from test_kv_cache import record_forward_calls

from helpers import GPT, Corpus, GPTConfig, TrainConfig, Trainer, WorkshopError, generate, load_model, save_checkpoint
from helpers.checkpoint import load_checkpoint, load_weights
from helpers.modern import RMSNorm, apply_rope, rope_angles, rope_frequencies, swiglu_hidden_size
from helpers.optimizers import MuonWithAdamW, make_optimizer, split_parameters
from helpers.timed_training import train_for
from helpers.trainer import lr_at

REPO = Path(__file__).resolve().parents[1]

BLOCK = 16
ALL_ON = dict(rope=True, norm="rmsnorm", mlp="swiglu", qk_norm=True, n_kv_head=2, tie_weights=False)


def make_model(seed: int = 0, **options) -> GPT:
    torch.manual_seed(seed)
    config = dict(vocab_size=65, block_size=BLOCK, n_layer=2, n_head=4, n_embd=32, dropout=0.0)
    return GPT(GPTConfig(**{**config, **options})).eval()


def tokens(length: int, batch: int = 1, seed: int = 1) -> torch.Tensor:
    return torch.randint(65, (batch, length), generator=torch.Generator().manual_seed(seed))


# ---- RoPE ------------------------------------------------------------------------------------------


def test_rope_turns_each_pair_by_position_times_frequency():
    """By hand: head size 4 pairs channel 0 with 2 (frequency 1) and 1 with 3 (frequency 1/100)."""
    x = torch.tensor([1.0, 2.0, 3.0, 4.0]).view(1, 1, 1, 4)
    position = 5
    cos, sin = rope_angles(torch.tensor([position]), rope_frequencies(4))
    turned = apply_rope(x, cos, sin).view(4)
    a0, a1 = position * 1.0, position / 100.0  # base 10000 ** (-2i/4) for i = 0, 1
    expected = [
        1 * math.cos(a0) - 3 * math.sin(a0),
        2 * math.cos(a1) - 4 * math.sin(a1),
        3 * math.cos(a0) + 1 * math.sin(a0),
        4 * math.cos(a1) + 2 * math.sin(a1),
    ]
    torch.testing.assert_close(turned, torch.tensor(expected))


def test_rope_preserves_norms():
    x = torch.randn(2, 3, 50, 16)
    cos, sin = rope_angles(torch.arange(1000, 1050), rope_frequencies(16))
    torch.testing.assert_close(apply_rope(x, cos, sin).norm(dim=-1), x.norm(dim=-1))


def test_rope_scores_depend_only_on_relative_position():
    q, k = torch.randn(1, 1, 1, 16), torch.randn(1, 1, 1, 16)
    freqs = rope_frequencies(16)

    def score(m: int, n: int) -> float:
        rq = apply_rope(q, *rope_angles(torch.tensor([m]), freqs))
        rk = apply_rope(k, *rope_angles(torch.tensor([n]), freqs))
        return (rq * rk).sum().item()

    for m, n in ((7, 3), (12, 12), (3, 9)):
        for shift in (1, 40, 500):
            assert score(m + shift, n + shift) == pytest.approx(score(m, n), abs=1e-4)
    assert score(7, 3) != pytest.approx(score(7, 5), abs=1e-3)  # the distance does matter


def test_rope_model_has_no_position_embeddings_and_fewer_parameters():
    gpt2, rope = make_model(), make_model(rope=True)
    assert not hasattr(rope.transformer, "wpe")
    assert gpt2.num_params() - rope.num_params() == BLOCK * 32  # the block_size × n_embd position table


# ---- RMSNorm, MLPs, QK-norm ----------------------------------------------------------------------


def test_rmsnorm_equals_its_formula():
    norm = RMSNorm(8)
    with torch.no_grad():
        norm.weight.copy_(torch.linspace(0.5, 2.0, 8))
    x = torch.randn(3, 5, 8) * 7 + 2
    expected = x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + norm.eps) * norm.weight
    torch.testing.assert_close(norm(x), expected)


def test_rmsnorm_computes_in_float32_and_returns_the_input_dtype():
    norm = RMSNorm(8)
    x = (torch.randn(4, 8) * 300).to(torch.float16)  # x² overflows fp16 (max 65504)
    out = norm(x)
    assert out.dtype == torch.float16 and torch.isfinite(out).all()
    torch.testing.assert_close(out, norm(x.float()).half())


def test_swiglu_and_relu_squared_equal_their_formulas():
    x = torch.randn(2, 3, 32)
    swiglu = make_model(mlp="swiglu").transformer.h[0].mlp
    assert swiglu.c_fc.out_features == swiglu_hidden_size(32) == 96  # 8/3 × 32 = 85.3, up to a multiple of 32
    a, b = x @ swiglu.c_gate.weight.T + swiglu.c_gate.bias, x @ swiglu.c_fc.weight.T + swiglu.c_fc.bias
    expected = (a * torch.sigmoid(a) * b) @ swiglu.c_proj.weight.T + swiglu.c_proj.bias
    torch.testing.assert_close(swiglu(x), expected)
    relu2 = make_model(mlp="relu2").transformer.h[0].mlp
    h = (x @ relu2.c_fc.weight.T + relu2.c_fc.bias).clamp(min=0) ** 2
    torch.testing.assert_close(relu2(x), h @ relu2.c_proj.weight.T + relu2.c_proj.bias)


def test_qk_norm_makes_attention_blind_to_the_scale_of_queries_and_keys():
    """Multiplying the query and key weights by 100 changes nothing once q and k are normalised (and would
    otherwise saturate the softmax)."""
    for qk_norm in (True, False):
        model = make_model(qk_norm=qk_norm, bias=False)
        x = tokens(10)
        with torch.no_grad():
            before = model(x)[0]
            for block in model.transformer.h:
                block.attn.c_attn.weight[: 2 * 32] *= 100  # q and k rows (n_kv_head = n_head here)
            after = model(x)[0]
        assert torch.allclose(before, after, atol=1e-4) == qk_norm


# ---- grouped-query attention ----------------------------------------------------------------------


def test_gqa_with_as_many_key_value_heads_as_query_heads_is_standard_attention():
    standard, gqa = make_model(), make_model(n_kv_head=4)
    assert {k: v.shape for k, v in gqa.state_dict().items()} == {k: v.shape for k, v in standard.state_dict().items()}
    gqa.load_state_dict(standard.state_dict())
    x = tokens(BLOCK, batch=2)
    torch.testing.assert_close(gqa(x)[0], standard(x)[0])


@pytest.mark.parametrize("fast", [True, False], ids=["fused", "readable"])
def test_gqa_equals_standard_attention_with_each_key_value_head_copied_to_its_group(fast):
    gqa = make_model(n_kv_head=2, fast_attention=fast)
    standard = make_model(fast_attention=fast)
    state = dict(gqa.state_dict())
    for i in range(2):
        w, b = state[f"transformer.h.{i}.attn.c_attn.weight"], state[f"transformer.h.{i}.attn.c_attn.bias"]
        q, k, v = w.split([32, 16, 16]), b.split([32, 16, 16])[1], b.split([32, 16, 16])[2]
        wq, wk, wv = q
        # kv head j serves query heads 2j and 2j+1: copy its 8 rows to both
        widen = lambda t: t.view(2, 8, *t.shape[1:]).repeat_interleave(2, dim=0).reshape(32, *t.shape[1:])  # noqa: E731
        state[f"transformer.h.{i}.attn.c_attn.weight"] = torch.cat([wq, widen(wk), widen(wv)])
        state[f"transformer.h.{i}.attn.c_attn.bias"] = torch.cat([b[:32], widen(k), widen(v)])
    standard.load_state_dict(state)
    x = tokens(BLOCK, batch=2)
    torch.testing.assert_close(gqa(x)[0], standard(x)[0], atol=1e-5, rtol=1e-5)


def test_gqa_cache_holds_only_the_key_value_heads():
    model = make_model(n_kv_head=2)
    cache = model.new_kv_cache()
    with torch.no_grad():
        model(tokens(5), kv_cache=cache)
    assert cache.layers[0].keys.shape == (1, 2, BLOCK, 8)  # 2 key/value heads, not 4


# ---- untied head ----------------------------------------------------------------------------------


def test_untied_head_has_its_own_matrix():
    tied, untied = make_model(), make_model(tie_weights=False)
    assert tied.lm_head.weight is tied.transformer.wte.weight
    assert untied.lm_head.weight is not untied.transformer.wte.weight
    assert untied.num_params() - tied.num_params() == 65 * 32


# ---- the KV cache with every option ----------------------------------------------------------------

OPTION_SETS = {
    "rope": dict(rope=True),
    "rmsnorm": dict(norm="rmsnorm"),
    "swiglu": dict(mlp="swiglu"),
    "relu2": dict(mlp="relu2"),
    "qk_norm": dict(qk_norm=True),
    "gqa": dict(n_kv_head=2),
    "mqa": dict(n_kv_head=1),
    "untied": dict(tie_weights=False),
    "all": ALL_ON,
}


@pytest.mark.parametrize("fast", [True, False], ids=["fused", "readable"])
@pytest.mark.parametrize("name", OPTION_SETS)
def test_cached_and_uncached_generation_agree_with_every_option(name, fast):
    model = make_model(fast_attention=fast, **OPTION_SETS[name])
    idx = tokens(5, batch=2)
    new = BLOCK - 5 if model.config.rope else 40  # rope past block_size slides: close, not equal (next tests)
    cached = generate(model, idx, new, temperature=0)
    assert torch.equal(cached, generate(model, idx, new, temperature=0, use_cache=False))
    sampled = generate(model, idx, new, seed=3)
    assert torch.equal(sampled, generate(model, idx, new, seed=3, use_cache=False))


def test_rope_generation_slides_past_block_size_without_refilling_the_cache():
    model = make_model(**ALL_ON)
    calls = record_forward_calls(model)
    out = generate(model, tokens(5), 3 * BLOCK, temperature=0.8, seed=0)
    assert out.shape == (1, 5 + 3 * BLOCK)
    assert calls[0] == (5, 0) and all(fed == 1 for fed, _ in calls[1:])  # the prompt once, then one token a step
    assert max(cached for _, cached in calls) == BLOCK - 1  # the cache never overflows: it slides


def test_rope_sliding_cache_is_exact_with_one_layer():
    """In the first layer a key depends on its own token and position only, so a slid cache holds exactly what a
    fresh pass over the window computes, and rotary scores depend on distances only: with one layer, the logits
    past block_size equal those of the model reading just the last block_size tokens from position 0."""
    model = make_model(n_layer=1, **ALL_ON)
    text = tokens(3 * BLOCK, seed=4)
    cache = model.new_kv_cache()
    with torch.no_grad():
        model(text[:, :BLOCK], kv_cache=cache)
        for end in range(BLOCK + 1, 3 * BLOCK):
            cache.drop_oldest(1)
            step = model(text[:, end - 1 : end], kv_cache=cache)[0][:, -1]
            fresh = model(text[:, end - BLOCK : end])[0][:, -1]
            torch.testing.assert_close(step, fresh, atol=1e-4, rtol=1e-4)
    assert cache.dropped == 2 * BLOCK - 1


def test_rope_sliding_stays_close_to_a_fresh_window_with_more_layers():
    model = make_model(**ALL_ON)
    idx = tokens(5, batch=2)
    cached = generate(model, idx, 3 * BLOCK, temperature=0)
    uncached = generate(model, idx, 3 * BLOCK, temperature=0, use_cache=False)
    assert torch.equal(cached[:, : BLOCK + 1], uncached[:, : BLOCK + 1])  # equal until the window first slides


def test_a_learned_position_model_refuses_a_slid_cache():
    model = make_model()
    cache = model.new_kv_cache()
    with torch.no_grad():
        model(tokens(BLOCK), kv_cache=cache)
        cache.drop_oldest(4)
        with pytest.raises(WorkshopError, match="dropped its oldest positions.*rotary.*Fix: kv_cache.reset"):
            model(tokens(1), kv_cache=cache)


def test_a_full_rope_cache_names_drop_oldest():
    model = make_model(rope=True)
    cache = model.new_kv_cache()
    with torch.no_grad():
        model(tokens(BLOCK), kv_cache=cache)
        with pytest.raises(WorkshopError, match=r"Fix: kv_cache.drop_oldest"):
            model(tokens(1), kv_cache=cache)
    with pytest.raises(WorkshopError, match=r"drop_oldest\(17\) on a cache holding 16 positions"):
        cache.drop_oldest(17)


# ---- checkpoints ----------------------------------------------------------------------------------


def test_every_option_survives_a_checkpoint(tmp_path):
    from helpers import CharTokenizer

    tokenizer = CharTokenizer.from_text("".join(chr(32 + i) for i in range(65)))
    model = make_model(**ALL_ON)
    save_checkpoint(tmp_path / "m.safetensors", model, tokenizer)
    loaded, _ = load_model(tmp_path / "m.safetensors")
    assert loaded.config == model.config
    assert loaded.lm_head.weight is not loaded.transformer.wte.weight
    x = tokens(BLOCK)
    torch.testing.assert_close(loaded(x)[0], model(x)[0])


def test_old_checkpoints_without_the_new_fields_still_load(tmp_path):
    """A checkpoint written before the options existed: its config has none of the new fields."""
    trainer = tiny_trainer(tmp_path, max_iters=2)
    trainer.fit()
    path = tmp_path / "best.safetensors"
    raw = path.read_bytes()
    header_len = int.from_bytes(raw[:8], "little")
    metadata = json.loads(raw[8 : 8 + header_len])["__metadata__"]
    config = json.loads(metadata["config"])
    for field in ("rope", "rope_base", "norm", "mlp", "qk_norm", "n_kv_head", "tie_weights"):
        del config[field]
    metadata["config"] = json.dumps(config)
    old = tmp_path / "old.safetensors"
    old.write_bytes(save_safetensors(load_safetensors(raw), metadata=metadata))
    model, _ = load_model(old)
    assert model.config == trainer.model.config and model.config.rope is False and model.config.kv_heads == 2
    x = torch.randint(model.config.vocab_size, (1, 8))
    torch.testing.assert_close(model(x)[0], trainer.model.eval()(x)[0])


def test_loading_into_a_model_with_other_options_names_them(tmp_path):
    from helpers import CharTokenizer

    tokenizer = CharTokenizer.from_text("".join(chr(32 + i) for i in range(65)))
    save_checkpoint(tmp_path / "m.safetensors", make_model(rope=True, mlp="swiglu"), tokenizer)
    with pytest.raises(WorkshopError, match=r"rope: checkpoint True vs model False; mlp: checkpoint swiglu"):
        load_weights(make_model(), load_checkpoint(tmp_path / "m.safetensors"))


# ---- bad combinations ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options, message",
    [
        (
            dict(n_head=6, n_embd=36, n_kv_head=4),
            r"n_kv_head=4 does not divide n_head=6.*Fix: pick n_kv_head from \[1, 2, 3, 6\]",
        ),
        (dict(n_kv_head=0), r"n_kv_head=0 does not divide n_head=4"),
        (dict(n_kv_head=2.0), r"n_kv_head=2.0 does not divide"),
        (dict(n_head=6, n_embd=30, rope=True), r"rope=True needs an even head size.*30 / 6 = 5.*Fix"),
        (dict(rope=True, rope_base=0.5), r"rope_base=0.5 is invalid.*Fix"),
        (dict(norm="batchnorm"), r"norm='batchnorm' is unknown. Fix: use one of layernorm, rmsnorm"),
        (dict(mlp="geglu"), r"mlp='geglu' is unknown. Fix: use one of gelu, swiglu, relu2"),
    ],
)
def test_bad_combinations_are_explained(options, message):
    with pytest.raises(WorkshopError, match=message):
        GPTConfig(**{**dict(vocab_size=65, block_size=BLOCK, n_layer=1, n_head=4, n_embd=32), **options})


def test_unknown_optimizer_is_explained():
    with pytest.raises(WorkshopError, match=r"optimizer='sgd' is unknown. Fix: use one of adamw, muon"):
        TrainConfig(optimizer="sgd")


# ---- Muon ------------------------------------------------------------------------------------------


def test_muon_takes_the_block_matrices_and_adamw_the_rest():
    model = make_model(tie_weights=False)
    matrices, other_matrices, vectors = split_parameters(model)
    names = {id(p): n for n, p in model.named_parameters()}
    assert all(names[id(p)].startswith("transformer.h.") and p.dim() == 2 for p in matrices)
    assert {names[id(p)] for p in other_matrices} == {
        "transformer.wte.weight",
        "transformer.wpe.weight",
        "lm_head.weight",
    }
    assert all(p.dim() == 1 for p in vectors)
    optimizer = make_optimizer(model, "muon", lr=1e-3, weight_decay=0.1, betas=(0.9, 0.99))
    muon, adamw = optimizer.optimizers
    assert isinstance(muon, torch.optim.Muon) and isinstance(adamw, torch.optim.AdamW)
    assert len(optimizer.param_groups) == 3 and sum(len(g["params"]) for g in optimizer.param_groups) == len(
        list(model.parameters())
    )


def test_muon_update_is_orthogonalised():
    """Muon's step on a matrix is (close to) an orthogonal matrix times a scale: all singular values alike."""
    torch.manual_seed(0)
    w = torch.nn.Parameter(torch.zeros(32, 64))
    w.grad = torch.randn(32, 64) * torch.logspace(-2, 1, 64)  # a gradient with very unequal directions
    torch.optim.Muon([w], lr=1.0, weight_decay=0.0, momentum=0.0, nesterov=False).step()
    singular = torch.linalg.svdvals(w.detach())
    assert singular.min() / singular.max() > 0.5, singular  # the gradient's own ratio is ~1e-3


def test_muon_with_adamw_state_round_trips():
    """Two steps, save, load into a fresh optimizer, one more step: the same weights as three unbroken steps."""
    x = tokens(BLOCK, batch=2)

    def steps(model, optimizer, n):
        for _ in range(n):
            loss = model(x, x)[1]
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()

    unbroken = make_model().train()
    opt = make_optimizer(unbroken, "muon", 1e-2, 0.1, (0.9, 0.99))
    steps(unbroken, opt, 3)

    first = make_model().train()
    opt1 = make_optimizer(first, "muon", 1e-2, 0.1, (0.9, 0.99))
    steps(first, opt1, 2)
    state = json.loads(json.dumps(opt1.state_dict(), default=lambda t: t.tolist()))  # what a header would hold
    assert sorted(map(int, state["state"])) == list(range(len(list(first.parameters()))))
    second = make_model().train()
    second.load_state_dict(first.state_dict())
    opt2 = make_optimizer(second, "muon", 1e-2, 0.1, (0.9, 0.99))
    opt2.load_state_dict(opt1.state_dict())
    steps(second, opt2, 1)
    for a, b in zip(unbroken.parameters(), second.parameters()):
        torch.testing.assert_close(a, b)


def test_trainer_trains_and_resumes_with_muon_and_every_option(tmp_path):
    corpus = Corpus.load(text=TEXT)
    settings = dict(
        batch_size=4, max_iters=4, warmup_iters=1, eval_interval=2, eval_iters=2, progress=False, optimizer="muon"
    )
    config = GPTConfig(
        vocab_size=corpus.tokenizer.vocab_size,
        block_size=16,
        n_layer=1,
        n_head=2,
        n_embd=16,
        **ALL_ON | {"n_kv_head": 1},
    )

    def trainer(max_iters):
        torch.manual_seed(0)
        return Trainer(
            GPT(config), corpus, TrainConfig(**{**settings, "max_iters": max_iters, "out_dir": str(tmp_path)})
        )

    first = trainer(4)
    first.fit()
    assert isinstance(first.optimizer, MuonWithAdamW)
    last_lr = lr_at(first.step - 1, first.cfg)  # the schedule sets Muon's rate too
    assert [g["lr"] for g in first.optimizer.param_groups] == [last_lr] * 3
    resumed = trainer(6).resume()
    resumed.fit()
    assert resumed.step == 6 and resumed.history[-1]["val_loss"] < resumed.history[0]["val_loss"]


def test_train_for_takes_the_optimizer():
    model = make_model().train()
    x = tokens(BLOCK, batch=4)
    history = train_for(model, lambda: model(x, x)[1], steps=20, learning_rate=1e-2, optimizer="muon")
    assert history[-1]["step"] == 20 and history[-1]["loss"] < math.log(65)


# every option combination builds and runs (catches a combination the parametrized tests above miss)
def test_every_combination_runs_forward_and_backward():
    for rope, norm, mlp, qk, kv, tie in itertools.product(
        (False, True), ("layernorm", "rmsnorm"), ("gelu", "swiglu", "relu2"), (False, True), (None, 1), (True, False)
    ):
        model = make_model(rope=rope, norm=norm, mlp=mlp, qk_norm=qk, n_kv_head=kv, tie_weights=tie).train()
        x = tokens(8, batch=2)
        _, loss = model(x, x)
        loss.backward()
        assert math.isfinite(loss.item())


# ---- the modern preset -----------------------------------------------------------------------------


def test_the_modern_preset_is_the_recorded_wins_and_auto_takes_it_only_where_it_measured_better():
    """`modern` is the laptop shape with the 1-minute wins; each budget preset carries its budget's wins exactly
    where they beat the GPT-2 design on that preset's own shape and settings (two seeds, by more than the seed
    spread)."""
    from helpers.ablation import (
        BUDGET_EVIDENCE,
        budget_evidence,
        budget_verdict,
        gpt2_shape,
        load_recorded,
        summarise,
        variant,
        wins,
    )
    from helpers.presets import BUDGET_PRESETS, BUDGET_WINS, MODERN_WINS, PRESETS, resolve_preset_name

    recorded = load_recorded()
    won = wins(summarise(recorded["table_60s"]["runs"]))
    overrides, optimizer = variant(won)
    assert MODERN_WINS == BUDGET_WINS[1] == {"model": overrides, "train": {"optimizer": optimizer}}
    modern = PRESETS["modern"]
    assert modern.model == {**gpt2_shape()["model"], **overrides} and modern.train["optimizer"] == optimizer
    for minutes, name in BUDGET_PRESETS.items():
        preset = PRESETS[name]
        assert resolve_preset_name("auto", "cpu", minutes) == name
        budget_wins = BUDGET_WINS.get(minutes, {"model": {}, "train": {}})
        assert (
            budget_wins["model"].items() <= preset.model.items()
            and budget_wins["train"].items() <= preset.train.items()
        )
        if minutes not in BUDGET_WINS:  # then it trains the GPT-2 design
            assert preset.train.get("optimizer", "adamw") == "adamw" and not preset.config().rope
            continue
        if minutes == 1:  # the ablation table itself: the laptop shape
            table = summarise(recorded["table_60s"]["runs"])
            assert {**preset.model, **overrides} == modern.model
            best, base = min((k for k in table if k != "gpt2"), key=lambda k: table[k]["val_loss"]), "gpt2"
            gap = table[base]["val_loss"] - table[best]["val_loss"]
            noise = max(table[base]["spread"], table[best]["spread"])
            assert table[best]["changes"] == won and gap > noise
            continue
        assert minutes in BUDGET_EVIDENCE, f"the wins of {minutes} min have no recorded evidence"
    for minutes in BUDGET_EVIDENCE:  # the evidence, on the budget preset's own shape and weight decay
        runs, verdict = budget_evidence(minutes), budget_verdict(minutes)
        assert verdict is not None, (minutes, runs)  # two seeds each
        seeds = {side: {run["train"].get("seed", 1337) for run in runs[side]} for side in runs}
        assert all(len(seeds[side]) == len(runs[side]) for side in runs)  # each run its own seed
        assert verdict["wins_help"] == (minutes in BUDGET_WINS), (minutes, verdict)


def budget_record(loss, seed, optimizer="adamw", train=None, **model_changes) -> dict:
    """One recorded sweep run on the 5-minute preset's shape and settings (GPT-2 design unless changed)."""
    from helpers.presets import BUDGET_PRESETS, PRESETS

    preset = PRESETS[BUDGET_PRESETS[5]]
    return {
        "model": {**preset.config().to_dict(), "rope": False, **model_changes},
        "train": {**preset.train, "optimizer": optimizer, "seed": seed, **(train or {})},
        "val_loss": loss,
    }


def write_budget_sweep(path, runs) -> Path:
    """A budget_sweep.json holding `runs` under the first key of the 5-minute evidence."""
    from helpers.ablation import BUDGET_EVIDENCE

    path.write_text(json.dumps({BUDGET_EVIDENCE[5][0]: {"runs": runs}}))
    return path


def test_budget_evidence_counts_only_runs_on_the_presets_shape_and_settings(tmp_path):
    """A record may hold other settings too (another depth, weight decay or floor): they are not evidence."""
    from helpers.ablation import budget_evidence
    from helpers.presets import BUDGET_PRESETS, PRESETS

    n_layer = PRESETS[BUDGET_PRESETS[5]].config().n_layer
    runs = [
        budget_record(1.46, 0, "muon", rope=True),
        budget_record(1.50, 0),
        budget_record(1.40, 1, "muon", rope=True, n_layer=n_layer + 2),  # another shape
        budget_record(1.40, 2, "muon", {"weight_decay": 0.1}, rope=True),  # another weight decay
        budget_record(1.40, 4, "muon", {"min_lr": None}, rope=True),  # another floor (TrainConfig's: a tenth)
        budget_record(1.45, 3, "muon"),  # one win of two: neither side
    ]
    path = write_budget_sweep(tmp_path / "sweep.json", runs)
    found = budget_evidence(5, path)
    assert [r["val_loss"] for r in found[True]] == [1.46] and [r["val_loss"] for r in found[False]] == [1.50]
    with pytest.raises(WorkshopError, match="No recorded evidence for 7 minutes"):
        budget_evidence(7, path)


def test_budget_verdict_waits_for_two_seeds_a_side_and_weighs_the_gap_against_their_spread(tmp_path):
    from helpers.ablation import budget_verdict

    path, runs = tmp_path / "sweep.json", [budget_record(1.46, 0, "muon", rope=True), budget_record(1.50, 0)]
    assert budget_verdict(5, write_budget_sweep(path, runs)) is None  # one seed a side proves nothing
    runs += [budget_record(1.47, 1, "muon", rope=True), budget_record(1.52, 1)]
    verdict = budget_verdict(5, write_budget_sweep(path, runs))
    assert verdict["wins"] == pytest.approx(1.465) and verdict["gpt2"] == pytest.approx(1.51)
    assert verdict["gap"] == pytest.approx(0.045) and verdict["spread"] == pytest.approx(0.02) and verdict["wins_help"]
    runs += [budget_record(1.40, 2)]  # a lucky GPT-2 seed: the spread (0.12) now swallows the gap
    assert not budget_verdict(5, write_budget_sweep(path, runs))["wins_help"]
