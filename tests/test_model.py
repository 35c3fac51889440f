import math

import pytest
import torch

from helpers import GPT, GPTConfig, WorkshopError


def test_reference_model_has_about_10_7M_parameters():
    model = GPT(GPTConfig(vocab_size=65, block_size=256, n_layer=6, n_head=6, n_embd=384))
    n = model.num_params()
    assert 10.6e6 < n < 10.9e6, n  # not the 1.8M of the talk's summary
    print(f"reference model: {n:,} parameters")


def test_forward_shapes_and_loss_none_without_targets(tiny_model):
    idx = torch.randint(65, (3, 10))
    logits, loss = tiny_model(idx)
    assert logits.shape == (3, 10, 65) and loss is None


def test_initial_loss_is_near_ln_vocab(tiny_model):
    idx = torch.randint(65, (8, 16))
    _, loss = tiny_model(idx, torch.randint(65, (8, 16)))
    assert abs(loss.item() - math.log(65)) < 0.1  # ≈ 4.17: the model starts out guessing uniformly


def test_attention_is_causal(tiny_model):
    """Changing a future token must not change any earlier position's logits."""
    tiny_model.eval()
    idx = torch.randint(65, (1, 16))
    changed = idx.clone()
    changed[0, 10] = (idx[0, 10] + 1) % 65
    a, _ = tiny_model(idx)
    b, _ = tiny_model(changed)
    assert torch.allclose(a[0, :10], b[0, :10], atol=1e-6)
    assert not torch.allclose(a[0, 10:], b[0, 10:])


def test_readable_and_fast_attention_agree(tiny_config):
    torch.manual_seed(0)
    fast = GPT(tiny_config).eval()
    readable = GPT(GPTConfig(**{**tiny_config.to_dict(), "fast_attention": False})).eval()
    readable.load_state_dict(fast.state_dict())
    idx = torch.randint(65, (4, 16))
    assert torch.allclose(fast(idx)[0], readable(idx)[0], atol=1e-5)


def test_readable_attention_scales_by_sqrt_head_size(tiny_model):
    """The weights of one head equal softmax(q·k / sqrt(head_size)) with the causal mask."""
    attn = tiny_model.transformer.h[0].attn
    x = torch.randn(1, 5, 32)
    q, k, _ = attn.c_attn(x).split(32, dim=2)
    hs = attn.head_size
    q0, k0 = q[0, :, :hs], k[0, :, :hs]
    scores = (q0 @ k0.T) / math.sqrt(hs)
    scores = scores.masked_fill(torch.triu(torch.ones(5, 5, dtype=torch.bool), 1), float("-inf"))
    attn.keep_weights = True
    attn(x)
    assert torch.allclose(attn.weights[0, 0], torch.softmax(scores, -1), atol=1e-6)


def test_attention_maps_shape_and_rows_sum_to_one(tiny_model):
    maps = tiny_model.attention_maps(torch.randint(65, (1, 7)))
    assert maps.shape == (2, 1, 4, 7, 7)
    assert torch.allclose(maps.sum(-1), torch.ones(2, 1, 4, 7))
    assert torch.all(maps[..., 0, 1:] == 0)  # the first position sees only itself


def test_model_overfits_one_batch(tiny_config):
    torch.manual_seed(0)
    model = GPT(tiny_config)
    x, y = torch.randint(65, (4, 16)), torch.randint(65, (4, 16))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(150):
        _, loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.2, loss.item()


def test_n_embd_not_divisible_by_n_head_is_explained():
    with pytest.raises(WorkshopError, match="n_embd=100 is not divisible by n_head=6.*Fix"):
        GPTConfig(n_embd=100, n_head=6)


def test_input_longer_than_block_size_is_explained(tiny_model):
    with pytest.raises(WorkshopError, match="block_size"):
        tiny_model(torch.randint(65, (1, 17)))
