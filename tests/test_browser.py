"""End to end in a real browser: JupyterLab on localhost, driven by headless Chromium via Playwright.

Opens notebooks 05 (training) and 06 (sampling), runs all cells in smoke mode, and checks that the live
loss plot is one image that updates in place, and that the sampling playground and attention explorer
respond to the mouse and keyboard. Screenshots go to artifacts/browser/ (git-ignored); they show a smoke
model, so they never replace the README's (docs/): `python tools/screenshots.py` takes those from a trained run.
The JupyterLab and browser machinery is tools/lab.py, shared with that command.

Run it locally (Debian/Ubuntu; any Chromium or Chrome binary works via CHROMIUM=/path/to/it):
    sudo apt-get install -y chromium
    .venv/bin/python -m pytest -m browser tests/test_browser.py
Without a Chromium it is skipped with the reason; with WORKSHOP_REQUIRE_BROWSER=1 (set by .ci/run) it fails instead.
No browser is ever downloaded (no `playwright install`): Playwright drives the system's Chromium.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

import lab as jupyter  # noqa: E402  (tools/lab.py)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = REPO / "artifacts" / "browser"
NOTEBOOKS = ("05_training.ipynb", "06_sampling.ipynb")
SOURCE = Path(os.environ.get("WORKSHOP_NOTEBOOKS_DIR", REPO / "notebooks"))  # where to take them from
RUN_ALL_TIMEOUT_S = jupyter.RUN_ALL_TIMEOUT_S


def missing(reason: str):
    """Skip locally; fail where the browser test is required (CI sets WORKSHOP_REQUIRE_BROWSER=1)."""
    if os.environ.get("WORKSHOP_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser test required but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def lab(tmp_path_factory, corpus_path):
    """A JupyterLab server on 127.0.0.1 (random port, token) whose kernels run in smoke mode."""
    if (reason := jupyter.missing_tools()) is not None:
        missing(reason)
    root = jupyter.workspace(tmp_path_factory.mktemp("lab"), NOTEBOOKS, SOURCE)
    env = dict(os.environ, WORKSHOP_SMOKE="1", WORKSHOP_CORPUS=str(corpus_path))
    with jupyter.jupyterlab(root, env) as server:
        yield server


@pytest.fixture(scope="module")
def browser(lab):
    with jupyter.chromium() as chromium:
        yield chromium


def open_notebook(browser, lab, name: str) -> jupyter.Notebook:
    assert (lab["root"] / "notebooks" / name).is_file(), f"notebooks/{name} is missing from {SOURCE}"
    return jupyter.open_notebook(browser, lab, name)


def screenshot(locator, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    locator.screenshot(path=str(path))
    return path


def screenshot_mid_run(locator, name: str) -> Path | None:
    """A screenshot of an image the live plot may replace at any moment (that is what it should do):
    a frame replaced while being photographed is skipped, not a failure."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        return screenshot(locator, name)
    except PlaywrightError as err:
        if "not attached to the DOM" in str(err):
            return None
        raise


def image_sources(cell) -> list[str]:
    return [img.get_attribute("src") or "" for img in cell.locator(".jp-OutputArea img").all()]


def test_training_notebook_shows_one_live_plot_that_updates(browser, lab):
    nb = open_notebook(browser, lab, "05_training.ipynb")
    live = nb.code_cell_index("LiveLossPlot(", ".fit()")
    cell = nb.cell(live)
    nb.run_all()

    # while that cell trains: the plot must be replaced in place, never stacked. Each new frame is
    # photographed into artifacts/browser/ (to look at; a smoke model's, so never the README's).
    seen, deadline = [], time.monotonic() + RUN_ALL_TIMEOUT_S
    while time.monotonic() < deadline:
        sources = image_sources(cell)
        assert len(sources) <= 1, f"the live plot stacked {len(sources)} images instead of updating one"
        cell_running = nb.running(cell)
        if sources and sources[0] not in seen:
            seen.append(sources[0])
            if cell_running:
                screenshot_mid_run(cell.locator(".jp-OutputArea-output img").first, f"live_plot_{len(seen):02d}.png")
        if len(seen) > 1 and not cell_running:
            break
        time.sleep(0.1)
    nb.wait_done()
    assert nb.errors() == []
    assert nb.unrun_code_cells() == []
    assert len(seen) >= 3, f"the live plot was redrawn {len(seen)} times; expected one redraw per evaluation"
    # the final figure is one PNG in the notebook itself, so it survives saving
    pngs = [o for o in nb.outputs(live) if "image/png" in o.get("data", {})]
    assert len(pngs) == 1
    assert len(image_sources(cell)) == 1
    screenshot(cell.locator(".jp-OutputArea-output img").first, "live_plot_final.png")
    nb.page.close()


def slider_to(widget, value: str) -> None:
    """Type a value into an ipywidgets slider's readout (works in ipywidgets 7 and 8) and commit it."""
    readout = widget.locator(".widget-readout")
    readout.click()
    readout.press("Control+A")
    readout.type(value)
    readout.press("Enter")


def test_sampling_notebook_playground_and_attention_respond(browser, lab):
    nb = open_notebook(browser, lab, "06_sampling.ipynb")
    nb.run_all()
    nb.wait_done()
    assert nb.errors() == []
    assert nb.unrun_code_cells() == []

    play = nb.panel.locator(".gpt-playground").first
    play.scroll_into_view_if_needed()
    sample = play.locator(".gpt-sample")
    chart = play.locator("img.gpt-next-token-chart")
    assert chart.count() == 1 and sample.inner_text().strip()
    before_sample, before_chart = sample.inner_text(), chart.get_attribute("src")

    slider_to(play.locator(".gpt-temperature"), "1.9")
    nb.page.wait_for_function(  # the distribution is redrawn for the new temperature
        "([el, src]) => el.getAttribute('src') !== src", arg=[chart.element_handle(), before_chart], timeout=30_000
    )
    play.locator("button.gpt-generate").click()
    nb.page.wait_for_function(
        "([el, text]) => el.innerText !== text", arg=[sample.element_handle(), before_sample], timeout=60_000
    )
    assert play.locator(".gpt-temperature .widget-readout").inner_text().strip() in ("1.9", "1.90")
    screenshot(play, "playground.png")

    # bad input shows the WorkshopError's message in the widget
    prompt = play.locator(".gpt-prompt input")
    prompt.fill("Roméo")
    prompt.press("Enter")
    play.locator(".gpt-error", has_text="never seen").wait_for(timeout=30_000)

    explorer = nb.panel.locator(".gpt-attention-explorer")
    assert explorer.count() == 1, "notebook 06 shows no attention explorer"
    explorer.scroll_into_view_if_needed()
    heatmap = explorer.locator("img.gpt-attention-heatmap")
    before = heatmap.get_attribute("src")
    explorer.locator(".gpt-head select").select_option(label="head 0")  # from "all heads"
    nb.page.wait_for_function(
        "([el, src]) => el.getAttribute('src') !== src", arg=[heatmap.element_handle(), before], timeout=30_000
    )
    screenshot(explorer, "attention_explorer.png")
    nb.page.close()
