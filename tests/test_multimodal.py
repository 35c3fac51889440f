"""Other modalities (notebook 14): inputs, patches and frames, and the prefix model's attention."""

from __future__ import annotations

import pytest
import torch

from helpers import WorkshopError
from helpers.completions import IGNORE
from helpers.model import Block
from helpers.multimodal import (
    DTMF,
    GLYPH_TENSORS,
    IMAGE_SHAPE,
    N_FFT,
    PATCH,
    SAMPLE_RATE,
    SOUND_SAMPLES,
    START,
    TOKENIZER,
    PatchEncoder,
    PrefixLM,
    SpectrogramEncoder,
    describe,
    describe_pair,
    describer_model,
    description_accuracy,
    description_accuracy_fast,
    description_batch,
    image_to_patches,
    make_images,
    make_sounds,
    sound_to_frames,
)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_images_hold_the_left_digit_on_the_left_and_the_right_on_the_right():
    images, digits = make_images(50, gen(), noise=0.0)
    assert images.shape == (50, *IMAGE_SHAPE) and digits.shape == (50, 2)
    half = IMAGE_SHAPE[1] // 2
    for image, (left, right) in zip(images, digits):
        assert image[:, :half].sum() == GLYPH_TENSORS[left].sum()
        assert image[:, half:].sum() == GLYPH_TENSORS[right].sum()


def test_patches_have_the_stated_shape_and_hold_the_right_pixels():
    images = torch.arange(2 * 16 * 32, dtype=torch.float32).view(2, 16, 32)
    patches = image_to_patches(images, 4)
    assert patches.shape == (2, 32, 16)  # 4 rows × 8 columns of patches, 4 × 4 = 16 pixels each
    for k in (0, 1, 7, 8, 31):
        row, col = divmod(k, 8)  # reading order: along the top row first
        assert torch.equal(patches[1, k], images[1, 4 * row : 4 * row + 4, 4 * col : 4 * col + 4].reshape(16))
    assert PatchEncoder(64).pieces(torch.zeros(3, *IMAGE_SHAPE)).shape == (3, 32, PATCH * PATCH)


def test_frames_have_the_stated_shape_and_hear_the_keypad_frequencies():
    waves, digits = make_sounds(20, gen(), noise=0.0)
    frames = sound_to_frames(waves)
    assert frames.shape == (20, 32, N_FFT // 2 + 1) == (20, 32, 129)
    assert SpectrogramEncoder(64).pieces(waves).shape == (20, 32, 129)
    hz_per_bin = SAMPLE_RATE / N_FFT
    for frame_half, k in ((slice(0, 16), 0), (slice(16, 32), 1)):
        loudest = frames[:, frame_half].amax(1)  # (20, bins): the loudest each bin gets in that half
        top_two = loudest.topk(2, dim=-1).indices.sort(-1).values
        for row, digit in enumerate(digits[:, k].tolist()):
            expected = [round(f / hz_per_bin) for f in DTMF[digit]]
            assert all(abs(got - want) <= 1 for got, want in zip(top_two[row].tolist(), expected))


def test_the_prefix_model_reuses_the_gpt_blocks():
    model = describer_model(PatchEncoder(32), n_layer=2, n_head=2)
    assert all(isinstance(block, Block) for block in model.gpt.transformer.h)
    assert model.gpt.config.block_size == 32 + len(START + "seven and seven.")


@pytest.fixture
def image_model():
    model = describer_model(PatchEncoder(32), n_layer=2, n_head=2).eval()
    images, digits = make_images(3, gen(1))
    x, _ = description_batch(digits)
    return model, images, x


def test_text_positions_are_causal_among_themselves(image_model):
    model, images, x = image_model
    changed = x.clone()
    changed[:, 6] = (x[:, 6] + 1) % TOKENIZER.vocab_size
    before, after = model(images, x)[0], model(images, changed)[0]
    assert torch.allclose(before[:, :6], after[:, :6], atol=1e-6)  # earlier text never sees a later token
    assert not torch.allclose(before[:, 6:], after[:, 6:])
    maps = model.attention_maps(images, x)  # (layers, B, heads, P+T, P+T)
    P = model.encoder.n_vectors
    text_to_text = maps[..., P:, P:]
    assert torch.all(text_to_text.triu(diagonal=1) == 0)


def test_the_prefix_is_visible_to_every_text_position(image_model):
    model, images, x = image_model
    P = model.encoder.n_vectors
    maps = model.attention_maps(images, x)
    assert torch.all(maps[..., P:, :P] > 0)  # every layer, head and text position weighs every patch
    other = images.flip(0)
    before, after = model(images, x)[0], model(other, x)[0]
    changed_positions = (before - after).abs().amax(dim=(0, 2)) > 1e-4
    assert changed_positions.all()  # another image changes what every text position predicts


def test_the_sound_model_is_the_same_code_with_another_encoder():
    model = describer_model(SpectrogramEncoder(32), n_layer=1, n_head=2)
    waves, digits = make_sounds(4, gen(2))
    x, y = description_batch(digits)
    logits, loss = model(waves, x, y)
    assert logits.shape == (*x.shape, TOKENIZER.vocab_size) and loss.item() > 0
    assert len(describe(model, waves)) == 4


def test_descriptions_and_their_loss_mask():
    assert describe_pair(3, 7) == "three and seven."
    x, y = description_batch(torch.tensor([[3, 7], [1, 2]]))
    assert TOKENIZER.decode(x[0]) == START + "three and seven"
    assert y[0].tolist() == TOKENIZER.encode("three and seven.")  # the start marker predicts the first letter
    assert y[1].tolist() == TOKENIZER.encode("one and two.") + [IGNORE] * 4  # padding never counts


def test_grading_by_one_pass_agrees_with_writing():
    model = describer_model(PatchEncoder(32), n_layer=1, n_head=2)
    images, digits = make_images(8, gen(3))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(30):  # a little training: some descriptions right, some wrong
        x, y = description_batch(digits)
        loss = model(images, x, y)[1]
        opt.zero_grad()
        loss.backward()
        opt.step()
    fast = description_accuracy_fast(model, images, digits)
    assert 0 < fast < 1, "the two measures must be compared where neither is trivially 0 or 1"
    assert fast == description_accuracy(model, images, digits)


@pytest.mark.parametrize("shape", [(2, 16, 16), (2, 32, 16), (16, 32), (2, 1, 16, 32)])
def test_an_image_of_the_wrong_size_gets_a_clear_message(shape):
    model = describer_model(PatchEncoder(32), n_layer=1, n_head=2)
    x, _ = description_batch(torch.tensor([[1, 2], [3, 4]]))
    with pytest.raises(WorkshopError, match=r"images of shape \(batch, 16, 32\)"):
        model(torch.zeros(shape), x)


def test_a_sound_of_the_wrong_length_gets_a_clear_message():
    with pytest.raises(WorkshopError, match=f"{SOUND_SAMPLES} samples"):
        SpectrogramEncoder(32).pieces(torch.zeros(2, SOUND_SAMPLES - 1))


def test_too_much_text_and_mismatched_widths_get_clear_messages():
    model = describer_model(PatchEncoder(32), n_layer=1, n_head=2)
    with pytest.raises(WorkshopError, match="block_size"):
        model(torch.zeros(1, *IMAGE_SHAPE), torch.zeros(1, 40, dtype=torch.long))
    with pytest.raises(WorkshopError, match="wide"):
        PrefixLM(PatchEncoder(16), model.gpt)
    with pytest.raises(WorkshopError, match="divide"):
        PatchEncoder(32, patch=5)
