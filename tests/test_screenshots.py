"""tools/screenshots.py: the README's pictures come from a model that learned. Here: the live plot's frame is
the one shown at the chosen point of a real run, the smoke preset is refused, bad arguments and missing
inputs are named with their fix, and a picture too big to commit is refused. (Taking the pictures trains for
a minute or more and drives a browser: `python tools/screenshots.py`, by hand; the browser test covers the
shared JupyterLab machinery, tools/lab.py, on smoke runs.)"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import GPT, GPTConfig, TrainConfig, Trainer
from helpers.errors import WorkshopError
from helpers.live import LiveLossPlot
from helpers.trainer import Callback

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

import screenshots  # noqa: E402  (tools/screenshots.py)


def test_the_kept_frame_is_the_one_shown_two_thirds_into_the_run(corpus):
    model = GPT(GPTConfig(vocab_size=corpus.tokenizer.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=16))
    cfg = TrainConfig(
        batch_size=4, max_iters=30, eval_interval=5, eval_iters=2, warmup_iters=2, progress=False, compile=False
    )
    live = LiveLossPlot(mode="figure", redraw_every_s=0)
    keeper = screenshots.frame_keeper(live, 2 / 3)
    shown = {}  # step: the frame live showed after that step

    class Record(Callback):
        def on_step(self, trainer, step):
            shown[step] = live.png

    Trainer(model, corpus, cfg, callbacks=[live, keeper, Record()]).fit()
    assert keeper.step == 20, "the first step at two thirds of 30"
    assert keeper.png == shown[20] and keeper.png.startswith(b"\x89PNG")
    assert keeper.png != live.png, "the kept frame is the mid-run one, not the final figure"


def test_the_smoke_preset_is_refused_before_training(tmp_path):
    with pytest.raises(WorkshopError, match="not the smoke preset"):
        screenshots.train(tmp_path / "run", "smoke", None, 0.5)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["pictures-of-cats"], "no picture named pictures-of-cats"),
        (["live", "--at", "1.5"], "--at 1.5"),
        (["live", "--at", "0"], "--at 0"),
        (["live", "--minutes", "-2"], "--minutes -2"),
        (["edition", "--width", "0"], "--width 0"),
    ],
)
def test_bad_arguments_are_named(argv, message, capsys):
    assert screenshots.main(argv) == 2
    assert message in capsys.readouterr().err


def test_a_run_without_a_model_is_named(tmp_path):
    with pytest.raises(WorkshopError, match="python tools/screenshots.py"):
        screenshots.playground_png(tmp_path)


def test_a_missing_site_is_named(tmp_path):
    with pytest.raises(WorkshopError, match="python tools/edition.py"):
        screenshots.edition_png(tmp_path / "site")


def png_bytes(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def test_pictures_are_scaled_down_and_one_too_big_to_commit_is_refused(tmp_path, monkeypatch):
    plain = np.full((400, 1800, 3), 255, dtype=np.uint8)
    plain[100:300, 200:1600] = (31, 119, 180)
    target = tmp_path / "picture.png"
    monkeypatch.setattr(screenshots, "ROOT", tmp_path)
    screenshots.save_small(png_bytes(plain), target)
    assert Image.open(target).width == screenshots.WIDTH and target.stat().st_size < screenshots.MAX_BYTES
    noise = np.random.default_rng(0).integers(0, 256, (1400, 1800, 3), dtype=np.uint8)
    with pytest.raises(WorkshopError, match="too big to commit"):
        screenshots.save_small(png_bytes(noise), tmp_path / "noise.png")
    assert not (tmp_path / "noise.png").exists()


def test_the_committed_pictures_are_small():
    for path in (screenshots.LIVE_IMAGE, screenshots.PLAYGROUND_IMAGE, screenshots.EDITION_IMAGE):
        assert path.stat().st_size < screenshots.MAX_BYTES, f"{path.name}: {path.stat().st_size:,} bytes"


@pytest.mark.browser
@pytest.mark.slow
def test_the_playground_is_photographed_on_the_given_run_in_full_mode(tmp_path, corpus_path, monkeypatch):
    """The command's browser half, end to end on a seconds-long run (the picture itself needs a real one)."""
    import os
    import subprocess

    import lab

    if (reason := lab.missing_tools()) is not None:
        if os.environ.get("WORKSHOP_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser test required but {reason}")
        pytest.skip(reason)
    run = tmp_path / "run"
    monkeypatch.setenv("WORKSHOP_CORPUS", str(corpus_path))
    subprocess.run(
        [sys.executable, "-m", "helpers.train", "--preset", "smoke", "--out", str(run), "--sample-tokens", "0"],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    before = {p: p.stat().st_mtime_ns for p in REPO.joinpath("docs").glob("*.png")}
    png = screenshots.playground_png(run, "ROMEO: Wh")
    image = Image.open(io.BytesIO(png))
    assert image.width > 600 and image.height > 300, "the playground's controls, chart and sample"
    assert {p: p.stat().st_mtime_ns for p in REPO.joinpath("docs").glob("*.png")} == before, "docs/ untouched"
    with pytest.raises(WorkshopError, match="refused the prompt"):
        screenshots.playground_png(run, "Roméo")  # a character the corpus never has
