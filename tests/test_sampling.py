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
