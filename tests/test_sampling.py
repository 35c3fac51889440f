import numpy as np
import pytest
import torch

from helpers import GPT, GPTConfig, WorkshopError, generate, next_token_probs, sample_text


def test_generate_appends_tokens_and_crops_context(tiny_model):
    seen_lengths = []
    original_forward = tiny_model.forward

    def spy(idx, targets=None, kv_cache=None):
        seen_lengths.append(idx.size(1) + (kv_cache.length if kv_cache is not None else 0))
        return original_forward(idx, targets, kv_cache=kv_cache)

    tiny_model.forward = spy
    prompt = torch.randint(65, (2, 40))  # longer than block_size=16
    out = generate(tiny_model, prompt, max_new_tokens=5, seed=0)
    assert out.shape == (2, 45)
    assert torch.equal(out[:, :40], prompt)
    assert max(seen_lengths) == tiny_model.config.block_size


def test_temperature_zero_is_greedy(tiny_model):
    prompt = torch.randint(65, (1, 4))
    out = generate(tiny_model, prompt, 6, temperature=0)
    idx = prompt
    for _ in range(6):
        logits, _ = tiny_model(idx)
        idx = torch.cat([idx, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
    assert torch.equal(out, idx)


def test_top_k_keeps_only_the_k_likeliest():
    logits = torch.tensor([[0.0, 5.0, 1.0, 4.0, 3.0]])
    probs = next_token_probs(logits, temperature=1.0, top_k=2)
    assert torch.count_nonzero(probs) == 2
    assert probs[0, 1] > 0 and probs[0, 3] > 0
    assert torch.isclose(probs.sum(), torch.tensor(1.0))


def test_top_k_honoured_in_generate(tiny_model):
    torch.manual_seed(0)
    prompt = torch.zeros(64, 1, dtype=torch.long)
    logits, _ = tiny_model(prompt[:1])
    allowed = set(torch.topk(logits[0, -1], 3).indices.tolist())
    out = generate(tiny_model, prompt, 1, temperature=5.0, top_k=3, seed=1)
    assert set(out[:, -1].tolist()) <= allowed


def test_top_p_keeps_the_smallest_set_reaching_p():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    probs = next_token_probs(logits, top_p=0.8)
    assert torch.allclose(probs, torch.tensor([[0.625, 0.375, 0.0, 0.0]]))


def test_lower_temperature_sharpens():
    logits = torch.tensor([[1.0, 2.0, 3.0]])
    assert (
        next_token_probs(logits, 0.5).max() > next_token_probs(logits, 1.0).max() > next_token_probs(logits, 2.0).max()
    )


def test_seed_makes_generation_reproducible(tiny_model):
    prompt = torch.zeros(1, 1, dtype=torch.long)
    a = generate(tiny_model, prompt, 20, temperature=1.0, seed=42)
    b = generate(tiny_model, prompt, 20, temperature=1.0, seed=42)
    c = generate(tiny_model, prompt, 20, temperature=1.0, seed=43)
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize(
    "settings, message",
    [
        (dict(temperature=-1.0), "temperature=-1.0 is invalid"),
        (dict(temperature=float("nan")), "temperature=nan is invalid"),
        (dict(top_k=0), "top_k=0 is invalid"),
        (dict(top_k=-3), "top_k=-3 is invalid"),
        (dict(top_k=66), "top_k=66 is invalid.*vocabulary size \\(65\\)"),
        (dict(top_p=0.0), "top_p=0.0 is invalid"),
        (dict(top_p=1.5), "top_p=1.5 is invalid"),
    ],
)
def test_bad_sampling_settings_are_explained(tiny_model, settings, message):
    with pytest.raises(WorkshopError, match=message):
        generate(tiny_model, torch.zeros(1, 1, dtype=torch.long), 1, **settings)


def test_empty_prompt_is_explained(tiny_model, small_tokenizer):
    model = GPT(GPTConfig(vocab_size=small_tokenizer.vocab_size, block_size=8, n_layer=1, n_head=1, n_embd=8))
    with pytest.raises(WorkshopError, match="prompt is empty"):
        sample_text(model, small_tokenizer, "", 5)
    with pytest.raises(WorkshopError, match="prompt is empty"):
        generate(tiny_model, torch.zeros(1, 0, dtype=torch.long), 5)


# ---- NumPy scalars, tiny temperatures, ties ------------------------------------------------------


def test_numpy_scalars_are_taken_like_python_numbers(tiny_model):
    """What an array, a slider or np.linspace hands over: np.int64(21) is a whole number, np.float32(0.7) a number."""
    logits = torch.randn(2, 65, generator=torch.Generator().manual_seed(0))
    assert torch.equal(
        next_token_probs(logits, np.float32(0.7), np.int64(21), np.float64(0.9)),
        next_token_probs(logits, float(np.float32(0.7)), 21, 0.9),
    )
    prompt = torch.zeros(1, 1, dtype=torch.long)
    numpy_settings = dict(temperature=np.float32(0.7), top_k=np.int64(21), top_p=np.float32(0.9), seed=np.int64(3))
    plain_settings = dict(temperature=float(np.float32(0.7)), top_k=21, top_p=float(np.float32(0.9)), seed=3)
    assert torch.equal(
        generate(tiny_model, prompt, np.int64(10), **numpy_settings), generate(tiny_model, prompt, 10, **plain_settings)
    )


@pytest.mark.parametrize("settings", [dict(top_k=True), dict(temperature=True), dict(top_k=21.0), dict(seed=-1)])
def test_bools_fractions_and_negative_seeds_are_still_refused(tiny_model, settings):
    with pytest.raises(WorkshopError, match=r"is invalid\. Fix"):
        generate(tiny_model, torch.zeros(1, 1, dtype=torch.long), 1, **settings)


@pytest.mark.parametrize("temperature", [1e-39, 1e-45, 5e-324, 1e-30])
def test_a_tiny_positive_temperature_is_greedy_not_nan(temperature):
    logits = 30 * torch.randn(3, 65, generator=torch.Generator().manual_seed(0))
    probs = next_token_probs(logits, temperature)
    assert torch.isfinite(probs).all()
    assert torch.equal(probs, next_token_probs(logits, 0))


def test_a_tiny_temperature_spreads_over_exact_ties_only():
    probs = next_token_probs(torch.tensor([1.0, 3.0, 3.0, 2.0]), 1e-39)
    assert probs.tolist() == [0.0, 0.5, 0.5, 0.0]


def test_generate_at_a_tiny_temperature_is_greedy(tiny_model):
    prompt = torch.zeros(1, 1, dtype=torch.long)
    assert torch.equal(generate(tiny_model, prompt, 12, temperature=1e-39, seed=0), generate(tiny_model, prompt, 12, 0))


def test_top_k_keeps_every_token_tied_with_the_kth():
    """Documented choice (next_token_probs): which of two equally likely tokens to drop would be arbitrary,
    so top-k keeps all of them; with no ties it keeps exactly k. nanoGPT and Hugging Face do the same."""
    logits = torch.tensor([[2.0, 5.0, 1.0, 4.0, 4.0, 0.0]])
    probs = next_token_probs(logits, top_k=2)
    assert (probs[0] > 0).tolist() == [False, True, False, True, True, False]  # 3 kept: two tie for 2nd place
    assert torch.isclose(probs.sum(), torch.tensor(1.0)) and probs[0, 3] == probs[0, 4]
    assert int((next_token_probs(logits, top_k=3) > 0).sum()) == 3  # the tie lies inside the k: exactly k
    assert "every token tied with the k-th" in next_token_probs.__doc__
