"""End to end in a real browser: JupyterLab on localhost, driven by headless Chromium via Playwright.

Opens notebooks 05 (training) and 06 (sampling), runs all cells in smoke mode, and checks that the live
loss plot is one image that updates in place, and that the sampling playground and attention explorer
respond to the mouse and keyboard. Screenshots go to artifacts/browser/ (git-ignored); with
UPDATE_DOCS_SCREENSHOTS=1 the two the README shows are also copied, small, into docs/.

Run it locally (Debian/Ubuntu; any Chromium or Chrome binary works via CHROMIUM=/path/to/it):
    sudo apt-get install -y chromium
    .venv/bin/python -m pytest -m browser tests/test_browser.py
Without a Chromium it is skipped with the reason; with WORKSHOP_REQUIRE_BROWSER=1 (set by .ci/run) it fails instead.
No browser is ever downloaded (no `playwright install`): Playwright drives the system's Chromium.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "artifacts" / "browser"
DOCS = REPO / "docs"
NOTEBOOKS = ("05_training.ipynb", "06_sampling.ipynb")
SOURCE = Path(os.environ.get("WORKSHOP_NOTEBOOKS_DIR", REPO / "notebooks"))  # where to take them from
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RUN_ALL_TIMEOUT_S = 480


def chromium_path() -> str | None:
    for candidate in (
        os.environ.get("CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        shutil.which("google-chrome"),
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def missing(reason: str):
    """Skip locally; fail where the browser test is required (CI sets WORKSHOP_REQUIRE_BROWSER=1)."""
    if os.environ.get("WORKSHOP_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser test required but {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lab_workspace(root: Path) -> None:
    """A throwaway copy to run in: the notebooks copied (running them must not rewrite the repo's
    files), helpers/ and data/ linked, so the notebooks' setup cell finds the checkout as usual."""
    (root / "notebooks").mkdir(parents=True)
    for name in NOTEBOOKS:
        if (SOURCE / name).is_file():
            shutil.copy(SOURCE / name, root / "notebooks" / name)
    for folder in ("helpers", "data"):
        (root / folder).symlink_to(REPO / folder, target_is_directory=True)
    settings = root / "settings" / "@jupyterlab"
    quiet = {  # no news pop-up, no autosave, no update check: nothing on screen but the notebook;
        "apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
        "docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
        # every cell stays in the page (no windowing), so the test can find cells by position
        "notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    }
    for rel, value in quiet.items():
        (settings / rel).parent.mkdir(parents=True, exist_ok=True)
        (settings / rel).write_text(json.dumps(value))


@pytest.fixture(scope="module")
def lab(tmp_path_factory, corpus_path):
    """A JupyterLab server on 127.0.0.1 (random port, token) whose kernels run in smoke mode."""
    if chromium_path() is None:
        missing("no Chromium found (install it: apt-get install -y chromium; or set CHROMIUM=/path/to/chrome)")
    for module, fix in (("jupyterlab", "pip install jupyter"), ("playwright", "pip install playwright")):
        if importlib.util.find_spec(module) is None:
            missing(f"the {module} package is not installed ({fix})")
    root = tmp_path_factory.mktemp("lab")
    lab_workspace(root)
    port, token = free_port(), secrets.token_hex(16)
    env = dict(
        os.environ,
        WORKSHOP_SMOKE="1",
        WORKSHOP_CORPUS=str(corpus_path),
        JUPYTER_CONFIG_DIR=str(root / "config"),
        JUPYTER_RUNTIME_DIR=str(root / "runtime"),
    )
    log = open(root / "jupyter.log", "w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            "--allow-root",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--expose-app-in-browser",
            f"--LabApp.user_settings_dir={root / 'settings'}",
            f"--LabApp.workspaces_dir={root / 'workspaces'}",
        ],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"JupyterLab did not start; its log:\n{(root / 'jupyter.log').read_text()[-3000:]}")
            time.sleep(0.5)
    yield {"base": base, "token": token, "root": root}
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


@pytest.fixture(scope="module")
def browser(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


class Notebook:
    """One notebook open in JupyterLab: run it, find cells, read their outputs."""

    def __init__(self, page, name: str):
        self.page, self.name = page, name
        # JupyterLab may restore other notebooks in the same page: always pick this one by its path
        self.find = (
            "(window.jupyterapp && [...window.jupyterapp.shell.widgets('main')]"
            f".find(w => w.context && w.context.path === {json.dumps('notebooks/' + name)}))"
        )
        self.wait_kernel_idle()
        self.id = self.js("return nb.id;")
        self.panel = page.locator(f"[id='{self.id}']")

    def js(self, body: str, arg=None):
        """Evaluate `body` with `nb` = the open notebook panel (JupyterLab exposes the app as window.jupyterapp)."""
        return self.page.evaluate(f"(arg) => {{ const nb = {self.find}; {body} }}", arg)

    def wait_kernel_idle(self, timeout_s: float = 120) -> None:
        self.page.wait_for_function(
            f"() => {{ const nb = {self.find};"
            " const k = nb && nb.sessionContext && nb.sessionContext.session && nb.sessionContext.session.kernel;"
            " return k && k.status === 'idle'; }",
            timeout=timeout_s * 1000,
        )

    def run_all(self) -> None:
        """Clear the saved outputs, run every cell, and wait until the first cell has started."""
        self.js("window.jupyterapp.shell.activateById(nb.id);")
        self.cell(0).click()  # focus: the notebook commands act on the notebook in focus
        self.page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
        # not awaited (no `return`): the command's promise only settles when the last cell has run
        self.page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
        self.page.wait_for_function(f"(arg) => {self.RUNNING_JS}", arg=self.id, timeout=60_000)

    # textContent, not innerText: cells scrolled out of view are not rendered, but keep their text
    RUNNING_JS = "[...document.getElementById(arg).querySelectorAll('.jp-InputArea-prompt')].some(p => p.textContent.includes('*'))"

    def running(self, cell=None) -> bool:
        """True while any cell (or the given one) is queued or running: its prompt shows [*]."""
        if cell is not None:
            return "*" in cell.locator(".jp-InputArea-prompt").first.text_content()
        return self.page.evaluate(f"(arg) => {self.RUNNING_JS}", self.id)

    def wait_done(self, timeout_s: float = RUN_ALL_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while self.running() or self.js("return nb.sessionContext.session.kernel.status;") != "idle":
            assert time.monotonic() < deadline, f"{self.name} still running after {timeout_s} s"
            time.sleep(0.5)

    def code_cell_index(self, *needles: str) -> int:
        """Index (among all cells) of the first code cell whose source contains every needle."""
        index = self.js(
            "const cells = nb.content.model.cells;"
            "for (let i = 0; i < cells.length; i++) { const c = cells.get(i);"
            "  const src = c.sharedModel.getSource();"
            "  if (c.type === 'code' && arg.every(n => src.includes(n))) return i; }"
            "return -1;",
            list(needles),
        )
        assert index >= 0, f"{self.name} has no code cell containing {needles}"
        return index

    def cell(self, index: int):
        return self.panel.locator(".jp-Notebook .jp-Cell").nth(index)

    def outputs(self, index: int) -> list[dict]:
        return self.js("return nb.content.model.cells.get(arg).outputs.toJSON();", index)

    def errors(self) -> list[str]:
        """Tracebacks, and WorkshopErrors (which notebooks print as one '⚠️' line instead)."""
        return self.js(
            "const out = []; const cells = nb.content.model.cells;"
            "for (let i = 0; i < cells.length; i++) { const c = cells.get(i); if (c.type !== 'code') continue;"
            "  for (const o of c.outputs.toJSON()) {"
            "    if (o.output_type === 'error') out.push(i + ': ' + o.ename + ': ' + o.evalue);"
            "    if (o.output_type === 'stream' && o.text.includes('⚠️')) out.push(i + ': ' + o.text); } }"  # a WorkshopError
            "return out;"
        )

    def unrun_code_cells(self) -> list[int]:
        return self.js(
            "const out = []; const cells = nb.content.model.cells;"
            "for (let i = 0; i < cells.length; i++) { const c = cells.get(i);"
            "  if (c.type === 'code' && c.sharedModel.getSource().trim() && !c.executionCount) out.push(i); }"
            "return out;"
        )


def open_notebook(browser, lab, name: str) -> Notebook:
    assert (lab["root"] / "notebooks" / name).is_file(), f"notebooks/{name} is missing from {SOURCE}"
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{lab['base']}/lab/tree/notebooks/{name}?token={lab['token']}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    return Notebook(page, name)


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


def copy_to_docs(path: Path, name: str, max_width: int = 900) -> None:
    """A small PNG for the README (under 200 KB), only when asked: docs/ is tracked by git."""
    if os.environ.get("UPDATE_DOCS_SCREENSHOTS") != "1":
        return
    from PIL import Image

    image = Image.open(path)
    if image.width > max_width:
        image = image.resize((max_width, round(image.height * max_width / image.width)), Image.LANCZOS)
    image = image.convert("RGB").quantize(colors=128)
    DOCS.mkdir(exist_ok=True)
    image.save(DOCS / name, optimize=True)
    assert (DOCS / name).stat().st_size < 200_000


def image_sources(cell) -> list[str]:
    return [img.get_attribute("src") or "" for img in cell.locator(".jp-OutputArea img").all()]


def test_training_notebook_shows_one_live_plot_that_updates(browser, lab):
    nb = open_notebook(browser, lab, "05_training.ipynb")
    live = nb.code_cell_index("LiveLossPlot(", ".fit()")
    cell = nb.cell(live)
    nb.run_all()

    # while that cell trains: the plot must be replaced in place, never stacked. Each new frame is
    # kept; the one about two thirds in is the "mid-run" picture (sweet spot and overfitting by then).
    seen, shots, deadline = [], [], time.monotonic() + RUN_ALL_TIMEOUT_S
    while time.monotonic() < deadline:
        sources = image_sources(cell)
        assert len(sources) <= 1, f"the live plot stacked {len(sources)} images instead of updating one"
        cell_running = nb.running(cell)
        if sources and sources[0] not in seen:
            seen.append(sources[0])
            if cell_running:
                shot = screenshot_mid_run(
                    cell.locator(".jp-OutputArea-output img").first, f"live_plot_{len(seen):02d}.png"
                )
                shots += [shot] if shot else []
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
    final = screenshot(cell.locator(".jp-OutputArea-output img").first, "live_plot_final.png")
    copy_to_docs(shots[(2 * len(shots)) // 3] if shots else final, "live_loss_plot.png")
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
    copy_to_docs(ARTIFACTS / "playground.png", "sampling_playground.png")

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
