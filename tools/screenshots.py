"""The README's pictures of what a learner sees, taken from a model that learned (never a smoke run's):

    python tools/screenshots.py                      # train the laptop preset (a minute or two), take all three
    python tools/screenshots.py --minutes 5          # notebook 05's run on a laptop (a 5-minute budget)
    python tools/screenshots.py playground edition   # only these; the playground reuses runs/screens' model

- live (docs/live_loss_plot.png): the live loss plot two thirds into a real run that this command trains
  as notebook 05's main cell does (the preset, `budget_minutes`, `LiveLossPlot(label=preset)`). The frame
  is LiveLossPlot's own PNG, the image the notebook shows, kept at the moment the run was that far.
- playground (docs/sampling_playground.png): notebook 06 executed in full mode in JupyterLab, in headless
  Chromium (tools/lab.py), with that run standing in as notebook 05's model (runs/notebook linked to it),
  after checking that it used that model; a prompt is typed in (--prompt: one whose next letter is
  uncertain, so the chart shows a choice) and Generate pressed, the sliders left at their defaults.
- edition (docs/edition_page.png): the reader's edition's page of notebook 05 (build/edition/site/, built
  by `python tools/edition.py`), its main training cell and outputs, photographed in Chromium.

Each picture is scaled down and reduced to a palette (tools/edition.py's small_png): tens of KB, since docs/
is committed. The run goes to runs/screens (git-ignored; --out another folder). The browser test
(tests/test_browser.py) takes its own screenshots of smoke runs into artifacts/ and never touches docs/.

What it does not know: whether a picture is pretty; look at it before committing.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import matplotlib  # noqa: E402

matplotlib.use("Agg")  # LiveLossPlot draws its frames without a screen

import edition  # noqa: E402  (tools/edition.py: small_png, the site's folder)
import lab as jupyter  # noqa: E402  (tools/lab.py)

from helpers.checkpoint import BEST  # noqa: E402
from helpers.errors import cli_exit_status, require  # noqa: E402

DOCS = ROOT / "docs"
LIVE_IMAGE, PLAYGROUND_IMAGE, EDITION_IMAGE = (
    DOCS / "live_loss_plot.png",
    DOCS / "sampling_playground.png",
    DOCS / "edition_page.png",
)
PICTURES = ("live", "playground", "edition")
SAMPLING = "06_sampling.ipynb"
PROMPT = "ROMEO: Wh"  # a learned model spreads the next letter over a, e, y, i, o: the chart shows a choice
MAX_BYTES = 200_000  # a committed picture stays under this
WIDTH = 900  # pixels, at most


def save_small(png: bytes, path: Path, width: int = WIDTH) -> str:
    small = edition.small_png(png, width)
    require(
        len(small) < MAX_BYTES,
        f"{path.name} would be {len(small):,} bytes, over {MAX_BYTES:,}: too big to commit. Fix: a smaller --width.",
    )
    path.write_bytes(small)
    return f"{path.relative_to(ROOT)}: {len(small):,} bytes"


# ---- the live loss plot, from a real run ----------------------------------------------------------
def run_progress(trainer) -> float:
    """How far the run is, 0 to 1: by the clock for a time-budget run, by steps otherwise."""
    if trainer.budget_s is not None:
        return trainer.elapsed_s(shared=False) / trainer.budget_s
    return trainer.step / trainer.cfg.max_iters


def frame_keeper(live, fraction: float):
    """A callback (after `live` in the list) keeping the frame `live` showed when the run was `fraction` through."""
    from helpers.trainer import Callback

    class KeepFrame(Callback):
        png: bytes | None = None
        step: int | None = None

        def on_step(self, trainer, step: int) -> None:
            if self.png is None and live.png is not None and run_progress(trainer) >= fraction:
                self.png, self.step = live.png, step

    return KeepFrame()


def train(out: Path, preset: str, minutes: float | None, fraction: float):
    """Train as notebook 05's main cell does, into `out` (a fresh run); returns (trainer, the kept frame)."""
    from helpers import Corpus, get_preset
    from helpers.device import pick_device
    from helpers.live import LiveLossPlot
    from helpers.trainer import TrainConfig, Trainer

    device = pick_device()
    preset_name, chosen = get_preset(preset, device, minutes=minutes)
    require(preset_name != "smoke", "the README's pictures must show a model that learned: not the smoke preset.")
    if out.exists():
        shutil.rmtree(out)  # a fresh run each time: the frame is of a run from its start
    out.mkdir(parents=True)
    corpus = Corpus.load()
    cfg = TrainConfig(**{**chosen.train, "budget_minutes": minutes}, device=device, out_dir=str(out))
    model = chosen.build_model(corpus.tokenizer.vocab_size, cfg.seed)
    live = LiveLossPlot(label=preset_name, mode="figure")
    keeper = frame_keeper(live, fraction)
    length = chosen.length() if minutes is None else f"{minutes:g} min"
    print(f"training '{preset_name}' ({chosen.summary()}) for {length} on {device} into {out}", flush=True)
    trainer = Trainer(model, corpus, cfg, callbacks=[live, keeper])
    history = trainer.fit()
    require(keeper.png is not None, f"the run ended ({trainer.stopped_because}) before it was {fraction:.0%} through")
    best = min(r["val_loss"] for r in history)
    require(
        best < history[0]["val_loss"] - 1.0,
        f"the run did not learn (val loss {history[0]['val_loss']:.2f} → best {best:.2f}): no picture taken. "
        "Fix: a longer run (--minutes 5) or another preset.",
    )
    print(f"step {trainer.step}, best val loss {best:.4f}; frame kept at step {keeper.step}", flush=True)
    return trainer, keeper.png


# ---- the sampling playground, in JupyterLab -------------------------------------------------------
def playground_png(run: Path, prompt: str = "") -> bytes:
    """Notebook 06 in full mode with `run` as notebook 05's model; a screenshot of its playground, after
    typing `prompt` into it and pressing Generate (empty: the notebook's own prompt)."""
    require((run / BEST).is_file(), f"{run} holds no {BEST}. Fix: python tools/screenshots.py (trains it).")
    reason = jupyter.missing_tools()
    require(reason is None, f"the playground is photographed in a browser, but {reason}")
    corpus = os.environ.get("WORKSHOP_CORPUS")
    env = {k: v for k, v in os.environ.items() if k != "WORKSHOP_SMOKE"}  # full mode, as a learner runs it
    if corpus:
        env["WORKSHOP_CORPUS"] = str(Path(corpus).resolve())
    with tempfile.TemporaryDirectory(prefix="screenshots-") as tmp:
        root = jupyter.workspace(Path(tmp), [SAMPLING], links={"runs/notebook": run})
        with jupyter.jupyterlab(root, env) as lab, jupyter.chromium() as browser:
            nb = jupyter.open_notebook(browser, lab, SAMPLING)
            nb.run_all()
            nb.wait_done()
            errors = nb.errors()
            require(not errors, f"notebook 06 failed in full mode: {errors}")
            said = nb.text()
            require(
                "Using notebook 05's model" in said and "runs/notebook" in said,
                f"notebook 06 did not use the trained run as notebook 05's model; it printed:\n{said[:1500]}",
            )
            play = nb.panel.locator(".gpt-playground").first
            play.scroll_into_view_if_needed()
            if prompt:
                type_prompt(nb.page, play, prompt)
            sample = play.locator(".gpt-sample").inner_text().strip()
            require(bool(sample), "the playground shows no sample")
            typed = f"prompt {prompt!r}" if prompt else "the notebook's prompt"
            print(f"playground sample ({typed}, the sliders at their defaults):\n{sample[:300]}", flush=True)
            return play.screenshot()


def type_prompt(page, play, prompt: str) -> None:
    """What a learner does: type a prompt (the chart follows it), then press Generate (a new sample)."""
    chart, sample, error = (
        play.locator("img.gpt-next-token-chart"),
        play.locator(".gpt-sample"),
        play.locator(".gpt-error"),
    )
    before_chart, before_sample = chart.get_attribute("src"), sample.inner_text()
    box = play.locator(".gpt-prompt input")
    box.fill(prompt)
    box.press("Enter")
    page.wait_for_function(  # the chart redrawn for the prompt, or the prompt refused
        "([chart, error, before]) => chart.getAttribute('src') !== before || error.innerText.trim() !== ''",
        arg=[chart.element_handle(), error.element_handle(), before_chart],
        timeout=30_000,
    )
    refused = error.inner_text().strip()
    require(not refused, f"the playground refused the prompt {prompt!r}: {refused}. Fix: another --prompt")
    play.locator("button.gpt-generate").click()
    page.wait_for_function(
        "([el, before]) => el.innerText !== before", arg=[sample.element_handle(), before_sample], timeout=60_000
    )


# ---- a page of the reader's edition ---------------------------------------------------------------
class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # no line per request
        pass


def edition_png(site: Path) -> bytes:
    """Notebook 05's page of the built site: the main training cell (resume_or_start with LiveLossPlot)."""
    page_file = site / "notebooks" / "05_training" / "index.html"
    require(
        page_file.is_file(),
        f"{page_file} is missing: the reader's edition is not built. Fix: python tools/edition.py (or, with "
        "executed copies in build/edition/notebooks/, python tools/edition.py --site-only).",
    )
    reason = jupyter.missing_tools()
    require(reason is None, f"the edition's page is photographed in a browser, but {reason}")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with jupyter.chromium() as browser:
            page = browser.new_page(viewport={"width": 1200, "height": 1000})
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/notebooks/05_training/")
            cells = page.locator(".jp-CodeCell").filter(has_text="resume_or_start(").filter(has_text="LiveLossPlot(")
            require(
                cells.count() >= 1,
                "notebook 05's page has no cell with resume_or_start( and LiveLossPlot(: update edition_png() "
                "if that cell changed",
            )
            cell = cells.first
            cell.scroll_into_view_if_needed()
            return cell.screenshot()
    finally:
        server.shutdown()


# ---- the command ---------------------------------------------------------------------------------
def run(args) -> int:
    wanted = args.pictures or list(PICTURES)
    unknown = sorted(set(wanted) - set(PICTURES))
    require(not unknown, f"no picture named {', '.join(unknown)}; the pictures are {', '.join(PICTURES)}")
    require(0 < args.at < 1, f"--at {args.at}: give a fraction of the run between 0 and 1 (e.g. 0.67)")
    require(args.minutes is None or args.minutes > 0, f"--minutes {args.minutes}: give a positive number")
    require(args.width >= 100, f"--width {args.width}: give a width in pixels of 100 or more")
    out = args.out if args.out.is_absolute() else ROOT / args.out
    done = []
    if "live" in wanted:
        _, frame = train(out, args.preset, args.minutes, args.at)
        done.append(save_small(frame, LIVE_IMAGE, args.width))
    if "playground" in wanted:
        done.append(save_small(playground_png(out, args.prompt), PLAYGROUND_IMAGE, args.width))
    if "edition" in wanted:
        done.append(save_small(edition_png(args.site), EDITION_IMAGE, min(args.width, edition.RESULT_WIDTH)))
    print("\n".join(done))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/screenshots.py", description=__doc__.splitlines()[0])
    parser.add_argument("pictures", nargs="*", help=f"which pictures (default all): {', '.join(PICTURES)}")
    parser.add_argument("--preset", default="laptop", help="the preset to train (default laptop)")
    parser.add_argument("--minutes", type=float, help="a time-budget run of this many minutes (as notebook 05)")
    parser.add_argument(
        "--prompt",
        default=PROMPT,
        help=f"typed into the playground (default {PROMPT!r}: the next letter is uncertain); '' keeps the notebook's",
    )
    parser.add_argument("--at", type=float, default=2 / 3, help="the live plot's frame at this fraction of the run")
    parser.add_argument("--out", type=Path, default=Path("runs/screens"), help="the run folder (default runs/screens)")
    parser.add_argument("--site", type=Path, default=edition.BUILD / "site", help="the reader's edition's site")
    parser.add_argument("--width", type=int, default=WIDTH, help=f"pictures at most this wide (default {WIDTH})")
    args = parser.parse_args(argv)
    return cli_exit_status(lambda: run(args))


if __name__ == "__main__":
    raise SystemExit(main())
