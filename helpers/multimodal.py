"""Other modalities as sequences of vectors: the inputs, encoders and prefix model of notebook 14.

What it knows:
- inputs made on the spot, no download: *images* of two digits (a 5×7 bitmap font, below) at random
  places in a 16×32 picture, one in each half; *sounds* of two telephone-keypad (DTMF) tones, one
  after the other. Both come with the text that describes them: "three and seven." (left digit
  first, or first tone first).
- encoders that turn an input into a sequence of vectors: an image cut into 4×4 patches, a sound
  cut into spectrogram frames (`torch.stft`); one linear layer maps each patch or frame to the
  model's width and a learned vector per place says where it came from.
- `PrefixLM`: the encoder's vectors go in front of the text, and the blocks of an ordinary
  `helpers.GPT` (its causal attention unchanged) run over both. Every text position sees the whole
  prefix, since it comes first; text positions see only earlier text. (Prefix positions, too, see
  only earlier prefix positions, as in LLaVA, which also puts image vectors before the words.)
What it does not know: training (helpers.timed_training) or plotting (the notebook does that).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
from torch.nn import functional as F

from .completions import completion_batch, cut_at, rows_exactly_right, write_greedily
from .data import CharTokenizer
from .errors import require
from .model import GPT, GPTConfig

DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
START, END, PAD = ">", ".", "_"
TOKENIZER = CharTokenizer.from_text("".join(DIGIT_NAMES) + " and" + START + END + PAD)


def describe_pair(first: int, second: int) -> str:
    """The text about an input holding digit `first` (left, or earlier) and `second`."""
    return f"{DIGIT_NAMES[first]} and {DIGIT_NAMES[second]}{END}"


# --------------------------------------------------------------------------------------------
# Images: two glyphs, one in each half

IMAGE_SHAPE = (16, 32)  # height, width in pixels
PATCH = 4  # patches are PATCH × PATCH pixels
GLYPHS = [  # 5 wide × 7 tall
    ["01110", "10001", "10011", "10101", "11001", "10001", "01110"],
    ["00100", "01100", "00100", "00100", "00100", "00100", "01110"],
    ["01110", "10001", "00001", "00010", "00100", "01000", "11111"],
    ["11111", "00010", "00100", "00010", "00001", "10001", "01110"],
    ["00010", "00110", "01010", "10010", "11111", "00010", "00010"],
    ["11111", "10000", "11110", "00001", "00001", "10001", "01110"],
    ["00110", "01000", "10000", "11110", "10001", "10001", "01110"],
    ["11111", "00001", "00010", "00100", "01000", "01000", "01000"],
    ["01110", "10001", "10001", "01110", "10001", "10001", "01110"],
    ["01110", "10001", "10001", "01111", "00001", "00010", "01100"],
]
GLYPH_TENSORS = torch.tensor([[[int(c) for c in row] for row in glyph] for glyph in GLYPHS], dtype=torch.float32)


def make_images(count: int, generator: torch.Generator, noise: float = 0.2):
    """`count` images (count, 16, 32) with a random digit at a random place in each half, plus faint
    noise; and the digits, (count, 2): left, right."""
    H, W = IMAGE_SHAPE
    gh, gw = GLYPH_TENSORS.shape[1:]
    digits = torch.randint(10, (count, 2), generator=generator)
    ys = torch.randint(H - gh + 1, (count, 2), generator=generator)
    xs = torch.randint(W // 2 - gw + 1, (count, 2), generator=generator) + torch.tensor([0, W // 2])
    images = noise * torch.rand(count, H, W, generator=generator)
    rows = ys[..., None, None] + torch.arange(gh)[:, None]  # (count, 2, gh, gw): where each glyph pixel goes
    cols = xs[..., None, None] + torch.arange(gw)[None, :]
    which = torch.arange(count)[:, None, None, None]
    images.index_put_(torch.broadcast_tensors(which, rows, cols), GLYPH_TENSORS[digits], accumulate=True)
    return images.clamp_(0, 1), digits


def image_to_patches(images: torch.Tensor, patch: int = PATCH) -> torch.Tensor:
    """(B, H, W) → (B, H/patch · W/patch, patch²): patches in reading order (left to right, top row
    first), each flattened row by row."""
    B, H, W = images.shape
    grid = images.unfold(1, patch, patch).unfold(2, patch, patch)  # (B, H/p, W/p, p, p)
    return grid.reshape(B, (H // patch) * (W // patch), patch * patch)


# --------------------------------------------------------------------------------------------
# Sounds: two keypad tones, one in each half of the clip

SAMPLE_RATE = 8000  # samples per second (a telephone's)
SOUND_SAMPLES = 4000  # half a second
N_FFT, HOP = 256, 128  # spectrogram: 256-sample windows (31 Hz per frequency bin), every 128 samples
DTMF = {  # digit → (low Hz, high Hz): the two tones a telephone keypad plays together
    1: (697, 1209), 2: (697, 1336), 3: (697, 1477),
    4: (770, 1209), 5: (770, 1336), 6: (770, 1477),
    7: (852, 1209), 8: (852, 1336), 9: (852, 1477),
    0: (941, 1336),
}  # fmt: skip


def keypad_tone(digit: int) -> torch.Tensor:
    """Half a second of the digit's two tones together, (SOUND_SAMPLES,)."""
    t = torch.arange(SOUND_SAMPLES) / SAMPLE_RATE
    return sum(torch.sin(2 * math.pi * f * t) for f in DTMF[digit])


TONES = torch.stack([keypad_tone(d) for d in range(10)])  # (10, SOUND_SAMPLES)


def make_sounds(count: int, generator: torch.Generator, noise: float = 0.3):
    """`count` clips (count, 4000 samples at 8 kHz) with a keypad tone of 0.1–0.15 s somewhere in each
    half, random loudness and background hiss; and the digits, (count, 2): first, second."""
    digits = torch.randint(10, (count, 2), generator=generator)
    half = SOUND_SAMPLES // 2
    length = torch.randint(800, 1201, (count, 2), generator=generator)
    start = (torch.rand(count, 2, generator=generator) * (half - length)).long() + torch.tensor([0, half])
    loudness = 0.5 + 0.5 * torch.rand(count, 2, 1, generator=generator)
    sample = torch.arange(SOUND_SAMPLES)
    on = (sample >= start[..., None]) & (sample < (start + length)[..., None])  # (count, 2, samples)
    waves = (loudness * on * TONES[digits]).sum(1) + noise * torch.randn(count, SOUND_SAMPLES, generator=generator)
    return waves, digits


def sound_to_frames(waves: torch.Tensor, n_fft: int = N_FFT, hop: int = HOP) -> torch.Tensor:
    """(B, samples) → (B, frames, n_fft/2 + 1): how loud each frequency is in each short window,
    on a log scale (log(1 + magnitude)), one frame per `hop` samples."""
    window = torch.hann_window(n_fft, device=waves.device)
    spec = torch.stft(waves, n_fft, hop_length=hop, window=window, return_complex=True)  # (B, freq, frames)
    return torch.log1p(spec.abs()).transpose(1, 2)


# --------------------------------------------------------------------------------------------
# Encoders: input → sequence of vectors


class SequenceEncoder(nn.Module):
    """Turns an input into `n_vectors` vectors of the model's width: raw pieces (patches, frames), one
    linear layer, plus a learned vector per place. Subclasses say how to cut the input (`pieces`)."""

    def __init__(self, n_vectors: int, piece_size: int, n_embd: int):
        super().__init__()
        self.n_vectors, self.piece_size = n_vectors, piece_size
        self.proj = nn.Linear(piece_size, n_embd)
        self.pos = nn.Parameter(0.02 * torch.randn(n_vectors, n_embd))

    def pieces(self, inputs: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.proj(self.pieces(inputs)) + self.pos


class PatchEncoder(SequenceEncoder):
    """An image (B, 16, 32) → 32 patch vectors: a vision transformer's linear patch embedding."""

    def __init__(self, n_embd: int, image_shape=IMAGE_SHAPE, patch: int = PATCH):
        H, W = image_shape
        require(H % patch == 0 and W % patch == 0, f"patch={patch} must divide the image size {H}×{W}.")
        super().__init__((H // patch) * (W // patch), patch * patch, n_embd)
        self.image_shape, self.patch = tuple(image_shape), patch

    def pieces(self, images: torch.Tensor) -> torch.Tensor:
        require(
            images.dim() == 3 and tuple(images.shape[1:]) == self.image_shape,
            f"This encoder takes images of shape (batch, {self.image_shape[0]}, {self.image_shape[1]}), "
            f"not {tuple(images.shape)}. Fix: make them with make_images(), or resize to "
            f"{self.image_shape[0]}×{self.image_shape[1]} pixels (a single image needs a batch axis: image[None]).",
        )
        return image_to_patches(images, self.patch)


class SpectrogramEncoder(SequenceEncoder):
    """A sound (B, 4000 samples) → 32 spectrogram-frame vectors."""

    def __init__(self, n_embd: int, n_samples: int = SOUND_SAMPLES, n_fft: int = N_FFT, hop: int = HOP):
        super().__init__(n_samples // hop + 1, n_fft // 2 + 1, n_embd)  # torch.stft pads half a window each side
        self.n_samples, self.n_fft, self.hop = n_samples, n_fft, hop

    def pieces(self, waves: torch.Tensor) -> torch.Tensor:
        require(
            waves.dim() == 2 and waves.size(1) == self.n_samples,
            f"This encoder takes sounds of shape (batch, {self.n_samples} samples), not {tuple(waves.shape)}. "
            f"Fix: make them with make_sounds(), or cut/pad to {self.n_samples} samples "
            f"({self.n_samples / SAMPLE_RATE} s at {SAMPLE_RATE} Hz).",
        )
        return sound_to_frames(waves, self.n_fft, self.hop)


# --------------------------------------------------------------------------------------------
# The prefix model: encoder vectors, then text, through the GPT's own blocks


class PrefixLM(nn.Module):
    """A GPT that reads a prefix of vectors (from `encoder`) before the text it writes."""

    def __init__(self, encoder: SequenceEncoder, gpt: GPT):
        super().__init__()
        require(
            encoder.proj.out_features == gpt.config.n_embd,
            f"The encoder makes vectors {encoder.proj.out_features} wide, the GPT is {gpt.config.n_embd} wide. "
            "Fix: build the encoder with n_embd=gpt.config.n_embd.",
        )
        self.encoder, self.gpt = encoder, gpt

    def forward(self, inputs: torch.Tensor, idx: torch.Tensor, targets: torch.Tensor | None = None):
        """Logits for the text positions only, (B, T, vocab); loss against `targets` if given."""
        t = self.gpt.transformer
        prefix = self.encoder(inputs)  # (B, P, C)
        P, T = prefix.size(1), idx.size(1)
        require(
            P + T <= self.gpt.config.block_size,
            f"{P} prefix vectors + {T} text tokens do not fit the GPT's block_size={self.gpt.config.block_size}. "
            "Fix: build the GPT with block_size ≥ prefix + text length (describer_model does).",
        )
        text = t.wte(idx) + t.wpe(torch.arange(T, device=idx.device))
        x = t.drop(torch.cat([prefix, text], dim=1))
        for block in t.h:  # the very blocks of helpers.GPT: causal attention over prefix + text
            x = block(x)
        logits = self.gpt.lm_head(t.ln_f(x[:, P:]))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))
        return logits, loss

    @torch.no_grad()
    def attention_maps(self, inputs: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """Attention weights (n_layer, B, n_head, P+T, P+T) over prefix + text, via the readable path."""
        was_training = self.training
        self.eval()
        layers = [block.attn for block in self.gpt.transformer.h]
        for attn in layers:
            attn.keep_weights = True
        try:
            self(inputs, idx)
            return torch.stack([attn.weights for attn in layers])
        finally:
            for attn in layers:
                attn.keep_weights, attn.weights = False, None
            self.train(was_training)


LONGEST_TEXT = max(len(START + describe_pair(a, b)) for a in range(10) for b in range(10))


def describer_model(encoder: SequenceEncoder, n_layer=2, n_head=4, seed=1337) -> PrefixLM:
    """A small GPT over the description characters with room for the encoder's prefix, behind `encoder`."""
    torch.manual_seed(seed)
    n_embd = encoder.proj.out_features
    config = GPTConfig(
        vocab_size=TOKENIZER.vocab_size,
        block_size=encoder.n_vectors + LONGEST_TEXT,
        n_layer=n_layer,
        n_head=n_head,
        n_embd=n_embd,
        dropout=0.0,
    )
    return PrefixLM(encoder, GPT(config))


# --------------------------------------------------------------------------------------------
# Training batches, writing descriptions, grading them


def description_batch(digits: torch.Tensor, device="cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Text inputs and targets for (B, 2) digit pairs: the start marker is the prompt, the description
    (end marker included) is what the model learns to write."""
    completions = [describe_pair(int(a), int(b)) for a, b in digits]
    return completion_batch(TOKENIZER, [START] * len(completions), completions, PAD, device)


@torch.no_grad()
def describe(model: PrefixLM, inputs: torch.Tensor, batch_size: int = 500) -> list[str]:
    """What the model writes about each input, greedily, up to its end marker."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    written = []
    for start in range(0, len(inputs), batch_size):
        chunk = inputs[start : start + batch_size].to(device)
        idx = torch.full((len(chunk), 1), TOKENIZER.stoi[START], device=device)
        out = write_greedily(lambda t, chunk=chunk: model(chunk, t)[0][:, -1], idx, LONGEST_TEXT, TOKENIZER.stoi[END])
        for ids in out[:, 1:].tolist():
            text = TOKENIZER.decode(ids)
            written.append(cut_at(text, END) or text)
    model.train(was_training)
    return written


def description_accuracy(model: PrefixLM, inputs: torch.Tensor, digits: torch.Tensor) -> float:
    """Fraction of inputs described exactly right, writing greedily."""
    written = describe(model, inputs)
    return sum(w == describe_pair(int(a), int(b)) for w, (a, b) in zip(written, digits)) / len(written)


@torch.no_grad()
def description_accuracy_fast(model: PrefixLM, inputs: torch.Tensor, digits: torch.Tensor) -> float:
    """The same figure from one forward pass (see completions.rows_exactly_right)."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    x, y = description_batch(digits, device)
    right = rows_exactly_right(model(inputs.to(device), x)[0], y)
    model.train(was_training)
    return right.float().mean().item()
