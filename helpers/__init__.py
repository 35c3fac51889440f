"""gpt-from-scratch: the finished version of each piece the workshop notebooks build.

from helpers import GPTConfig, GPT, CharTokenizer, generate
"""

from .bpe import BPETokenizer
from .checkpoint import load_checkpoint, load_model, save_checkpoint
from .data import CharTokenizer, Corpus, find_corpus, get_batch, load_text, train_val_split
from .device import pick_device, precision_for
from .errors import WorkshopError
from .model import GPT, GPTConfig
from .post_training import dpo_loss
from .presets import PRESETS, get_preset, smoke_mode
from .pretrained import load_pretrained
from .sampling import generate, next_token_probs, sample_text
from .trainer import Callback, TrainConfig, Trainer, lr_at

__all__ = [
    "GPT",
    "GPTConfig",
    "CharTokenizer",
    "BPETokenizer",
    "Corpus",
    "find_corpus",
    "get_batch",
    "load_text",
    "train_val_split",
    "generate",
    "next_token_probs",
    "sample_text",
    "Trainer",
    "TrainConfig",
    "Callback",
    "lr_at",
    "save_checkpoint",
    "load_checkpoint",
    "load_model",
    "load_pretrained",
    "dpo_loss",
    "pick_device",
    "precision_for",
    "PRESETS",
    "get_preset",
    "smoke_mode",
    "WorkshopError",
]
