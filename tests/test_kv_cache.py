"""The KV cache (issue 12): generation with the cache gives what generation without it gives, only faster.

fp32 throughout. The model's context is 16 tokens, so a prompt of 5 plus 40 new tokens crosses block_size
twice and a prompt of 40 starts past it. The speed is measured by benchmarks/bench_kv_cache.py, not here.
"""

from __future__ import annotations

import pytest
import torch
from test_checkpoint import tiny_trainer

import helpers.sample as sample_cli
from helpers import GPT, GPTConfig, WorkshopError, generate
from helpers.bigram import BigramLanguageModel
from helpers.kv_cache import KVCache
from helpers.sampling import window_start
from helpers.widgets import sampling_playground

BLOCK = 16
PROMPTS = {"shorter than block_size": 5, "crossing block_size": 12, "longer than block_size": 40}


def make_model(fast: bool, seed: int = 0, **overrides) -> GPT:
    torch.manual_seed(seed)
    config = dict(vocab_size=65, block_size=BLOCK, n_layer=2, n_head=4, n_embd=32, dropout=0.0, fast_attention=fast)
    return GPT(GPTConfig(**{**config, **overrides})).eval()


def prompt(length: int, batch: int = 1, seed: int = 1) -> torch.Tensor:
    return torch.randint(65, (batch, length), generator=torch.Generator().manual_seed(seed))


def record_forward_calls(model) -> list[tuple[int, int | None]]:
    """Wrap `model.forward`: each call appends (tokens fed, positions cached before it, or None without a cache)."""
    calls, original = [], model.forward

    def spy(idx, targets=None, kv_cache=None):
        calls.append((idx.size(1), None if kv_cache is None else kv_cache.length))
        return original(idx, targets, kv_cache=kv_cache)

    model.forward = spy
    return calls


# ---- same results ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fast", [True, False], ids=["fused", "readable"])
@pytest.mark.parametrize("prompt_name", PROMPTS)
def test_greedy_is_identical_with_and_without_the_cache(fast, prompt_name):
    model = make_model(fast)
    idx = prompt(PROMPTS[prompt_name], batch=2)
    cached = generate(model, idx, 40, temperature=0)
    uncached = generate(model, idx, 40, temperature=0, use_cache=False)
    assert cached.shape == (2, PROMPTS[prompt_name] + 40)
    assert torch.equal(cached, uncached)


@pytest.mark.parametrize("fast", [True, False], ids=["fused", "readable"])
@pytest.mark.parametrize("prompt_name", PROMPTS)
def test_sampled_text_is_identical_for_the_same_seed(fast, prompt_name):
    model = make_model(fast)
    idx = prompt(PROMPTS[prompt_name], batch=3)
    for settings in (dict(temperature=1.0), dict(temperature=0.8, top_k=10), dict(temperature=1.2, top_p=0.9)):
        cached = generate(model, idx, 40, seed=7, **settings)
        uncached = generate(model, idx, 40, seed=7, use_cache=False, **settings)
        assert torch.equal(cached, uncached), settings
    assert not torch.equal(generate(model, idx, 40, seed=7), generate(model, idx, 40, seed=8))


@pytest.mark.parametrize("fast", [True, False], ids=["fused", "readable"])
def test_cached_logits_equal_the_full_forward_pass_at_every_position(fast):
    """Feed 6 tokens, then one at a time up to block_size: each step's logits are the full pass's last row."""
    model = make_model(fast)
    idx = prompt(BLOCK, batch=2)
    cache = model.new_kv_cache(2)
    with torch.no_grad():
        first, _ = model(idx[:, :6], kv_cache=cache)
        torch.testing.assert_close(first, model(idx[:, :6])[0])
        for t in range(6, BLOCK):
            step, _ = model(idx[:, t : t + 1], kv_cache=cache)
            torch.testing.assert_close(step[:, -1], model(idx[:, : t + 1])[0][:, -1], atol=1e-5, rtol=1e-5)
        assert cache.length == BLOCK


def test_a_chunk_after_cached_tokens_sees_the_right_positions():
    """Several new tokens after a filled cache (not one): the causal mask lines up with the cached ones."""
    for fast in (True, False):
        model = make_model(fast)
        idx = prompt(BLOCK)
        cache = model.new_kv_cache()
        with torch.no_grad():
            model(idx[:, :7], kv_cache=cache)
            chunk, _ = model(idx[:, 7:], kv_cache=cache)
            torch.testing.assert_close(chunk, model(idx)[0][:, 7:], atol=1e-5, rtol=1e-5)


def test_fused_and_readable_paths_agree_with_the_cache():
    fused, readable = make_model(True), make_model(False)
    idx = prompt(10)
    outs = []
    for model in (fused, readable):
        cache = model.new_kv_cache()
        with torch.no_grad():
            model(idx[:, :9], kv_cache=cache)
            outs.append(model(idx[:, 9:], kv_cache=cache)[0])
    torch.testing.assert_close(outs[0], outs[1], atol=1e-5, rtol=1e-5)


# ---- the cache itself -------------------------------------------------------------------------------


def test_cache_shapes_grow_one_position_per_step_and_reset():
    model = make_model(True, n_layer=3, n_head=2, n_embd=16)
    cache = model.new_kv_cache(batch_size=2)
    assert isinstance(cache, KVCache) and len(cache.layers) == 3 and cache.length == 0
    idx = prompt(7, batch=2)
    with torch.no_grad():
        model(idx[:, :5], kv_cache=cache)
        assert cache.length == 5
        for layer in cache.layers:
            assert layer.keys.shape == layer.values.shape == (2, 2, BLOCK, 8)  # (B, n_head, block_size, head_size)
            assert layer.keys.dtype == torch.float32 and layer.length == 5
        model(idx[:, 5:6], kv_cache=cache)
        assert cache.length == 6
        k, v = cache.layers[0].append(torch.zeros(2, 2, 1, 8), torch.zeros(2, 2, 1, 8))
        assert k.shape == v.shape == (2, 2, 7, 8)  # what attention reads: the filled positions only
        cache.reset()
        assert cache.length == 0 and all(layer.length == 0 for layer in cache.layers)
        again, _ = model(idx[:, 3:7], kv_cache=cache)  # after a reset, positions count from 0 again
        torch.testing.assert_close(again, model(idx[:, 3:7])[0])


def test_cached_keys_are_what_the_layer_computes():
    model = make_model(False)
    idx = prompt(6)
    cache = model.new_kv_cache()
    with torch.no_grad():
        model(idx, kv_cache=cache)
        block = model.transformer.h[0]
        x = model.transformer.wte(idx) + model.transformer.wpe(torch.arange(6))
        _, k, v = block.attn.c_attn(block.ln_1(x)).split(32, dim=2)
    torch.testing.assert_close(cache.layers[0].keys[0, :, :6], k[0].view(6, 4, 8).transpose(0, 1))
    torch.testing.assert_close(cache.layers[0].values[0, :, :6], v[0].view(6, 4, 8).transpose(0, 1))


# ---- the window past block_size ---------------------------------------------------------------------


def test_window_never_exceeds_block_size_and_keeps_at_least_half():
    for block_size in (1, 2, 3, 16, 17, 64, 256):
        starts = [window_start(n, block_size) for n in range(1, 5 * block_size + 3)]
        for n, start in enumerate(starts, start=1):
            assert 1 <= n - start <= block_size
            if n > block_size:
                assert n - start > block_size // 2  # the last half is kept, plus the new token
        assert starts == sorted(starts)  # the window only moves forward
    assert [window_start(n, 16) for n in (16, 17, 24, 25, 33)] == [0, 8, 8, 16, 24]


def test_generate_refills_the_cache_only_when_the_window_jumps():
    model = make_model(True)
    calls = record_forward_calls(model)
    generate(model, prompt(5), 30, temperature=0)
    # the prompt of 5, then one token per step until the cache is full (16); at text length 17 the window
    # jumps: a re-fill with the last 8 tokens and the newest, then one per step until full again, ...
    grow_to_full = [(9, 0)] + [(1, n) for n in range(9, BLOCK)]
    expected = [(5, 0)] + [(1, n) for n in range(5, BLOCK)] + grow_to_full + grow_to_full + [(9, 0), (1, 9)]
    assert calls == expected
    assert all(fed + (cached or 0) <= BLOCK for fed, cached in calls)


def test_without_the_cache_the_model_reads_the_same_windows():
    model = make_model(True)
    calls = record_forward_calls(model)
    generate(model, prompt(5), 30, temperature=0, use_cache=False)
    assert calls == [(n - window_start(n, BLOCK), None) for n in range(5, 35)]


@pytest.mark.parametrize("use_cache", [True, False])
def test_generating_in_two_calls_gives_what_one_call_gives(use_cache):
    model = make_model(True)
    idx = prompt(3)
    once = generate(model, idx, 40, temperature=0, use_cache=use_cache)
    twice = generate(model, generate(model, idx, 17, temperature=0, use_cache=use_cache), 23, temperature=0)
    assert torch.equal(once, twice)


def test_a_model_without_a_cache_ignores_use_cache():
    torch.manual_seed(0)
    bigram = BigramLanguageModel(10)
    idx = torch.tensor([[1, 2, 3]])
    assert torch.equal(generate(bigram, idx, 8, seed=0), generate(bigram, idx, 8, seed=0, use_cache=False))


# ---- the playground and the command line use it -----------------------------------------------------


def test_the_playground_generates_with_the_cache(small_tokenizer):
    model = GPT(GPTConfig(vocab_size=small_tokenizer.vocab_size, block_size=BLOCK, n_layer=1, n_head=2, n_embd=16))
    calls = record_forward_calls(model)
    play = sampling_playground(model, small_tokenizer, prompt="hello", length=20)
    cached_calls = [call for call in calls if call[1] is not None]
    assert len(play.sample) == len("hello") + 20
    assert cached_calls[0] == (5, 0) and cached_calls[1:11] == [(1, n) for n in range(5, 15)]


def test_the_sample_command_uses_the_cache_and_no_cache_gives_the_same_text(tmp_path, monkeypatch, capsys):
    tiny_trainer(tmp_path).fit()
    fed_a_cache = []
    original = GPT.forward

    def spy(self, idx, targets=None, kv_cache=None):
        fed_a_cache.append(kv_cache is not None)
        return original(self, idx, targets, kv_cache=kv_cache)

    monkeypatch.setattr(GPT, "forward", spy)
    args = ["--run", str(tmp_path), "--prompt", "To be", "--tokens", "30", "--seed", "3", "--device", "cpu"]
    assert sample_cli.main(args) == 0
    with_cache = capsys.readouterr().out
    assert fed_a_cache and all(fed_a_cache)
    fed_a_cache.clear()
    assert sample_cli.main([*args, "--no-cache"]) == 0
    assert capsys.readouterr().out == with_cache and not any(fed_a_cache)


# ---- bad input ---------------------------------------------------------------------------------------


def test_use_cache_must_be_a_bool(tiny_model):
    with pytest.raises(WorkshopError, match="use_cache must be True or False, not 'yes'"):
        generate(tiny_model, prompt(3), 2, use_cache="yes")


@pytest.mark.parametrize("batch_size", [0, -1, 2.0, "1"])
def test_a_cache_needs_a_whole_positive_batch_size(tiny_model, batch_size):
    with pytest.raises(WorkshopError, match="is invalid for a KV cache. Fix: pass the number of sequences"):
        tiny_model.new_kv_cache(batch_size)


def test_a_cache_refuses_more_than_block_size_positions():
    model = make_model(True)
    cache = model.new_kv_cache()
    with torch.no_grad():
        model(prompt(12), kv_cache=cache)
        with pytest.raises(WorkshopError, match=r"holds 12 tokens; 5 more would pass .*block_size 16.*reset\(\)"):
            model(prompt(5), kv_cache=cache)
    assert cache.length == 12  # the refused call changed nothing


def test_a_cache_made_for_another_batch_size_is_refused():
    model = make_model(True)
    with pytest.raises(WorkshopError, match=r"holds 3 sequences but the KV cache was made for 1.*new_kv_cache\(3\)"):
        model(prompt(4, batch=3), kv_cache=model.new_kv_cache(1))


def test_a_cache_from_another_model_is_refused():
    model, deeper = make_model(True), make_model(True, n_layer=3)
    with pytest.raises(WorkshopError, match=r"must come from this model's new_kv_cache\(\) \(2 layers\)"):
        model(prompt(4), kv_cache=deeper.new_kv_cache())
    with pytest.raises(WorkshopError, match="not list"):
        model(prompt(4), kv_cache=[])
