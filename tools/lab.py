"""JupyterLab on 127.0.0.1, driven by the system's Chromium through Playwright: the browser test
(tests/test_browser.py) checks the notebooks' widgets with it, tools/screenshots.py photographs them.

    root = workspace(tmp, ["06_sampling.ipynb"], links={"runs/notebook": trained_run})
    with jupyterlab(root, env) as lab, chromium() as browser:
        nb = open_notebook(browser, lab, "06_sampling.ipynb")
        nb.run_all(); nb.wait_done()

What it knows: how to start a throwaway JupyterLab (random port, a token, no pop-ups, every cell kept in the
page) on copies of notebooks beside links to this checkout's helpers/ and data/, and how to run a notebook
there and read its cells and outputs through JupyterLab's own model (window.jupyterapp). No browser is ever
downloaded (no `playwright install`): Playwright drives Debian's Chromium, or the one $CHROMIUM names.
What it does not know: what a notebook should show; the test and the screenshot tool say that.
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
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from helpers.errors import WorkshopError  # noqa: E402

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


def missing_tools() -> str | None:
    """Why this machine cannot drive a browser (a sentence with the fix), or None when it can."""
    if chromium_path() is None:
        return "no Chromium found (install it: apt-get install -y chromium; or set CHROMIUM=/path/to/chrome)"
    for module, fix in (("jupyterlab", "pip install jupyter"), ("playwright", "pip install playwright")):
        if importlib.util.find_spec(module) is None:
            return f"the {module} package is not installed ({fix})"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def workspace(root: Path, notebooks, source: Path = ROOT / "notebooks", links: dict | None = None) -> Path:
    """A throwaway copy to run in: the notebooks copied (running them must not rewrite the repo's files),
    helpers/ and data/ linked, so the notebooks' setup cell finds the checkout as usual; `links` adds
    more ({"runs/notebook": a trained run} gives notebook 06 onwards that model)."""
    (root / "notebooks").mkdir(parents=True)
    for name in notebooks:
        if (source / name).is_file():
            shutil.copy(source / name, root / "notebooks" / name)
    for rel, target in {"helpers": ROOT / "helpers", "data": ROOT / "data", **(links or {})}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).symlink_to(Path(target).resolve(), target_is_directory=True)
    settings = root / "settings" / "@jupyterlab"
    quiet = {  # no news pop-up, no autosave, no update check: nothing on screen but the notebook;
        "apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
        "docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
        # every cell stays in the page (no windowing), so cells can be found by position
        "notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    }
    for rel, value in quiet.items():
        (settings / rel).parent.mkdir(parents=True, exist_ok=True)
        (settings / rel).write_text(json.dumps(value))
    return root


@contextmanager
def jupyterlab(root: Path, env: dict, start_timeout_s: float = 90):
    """A JupyterLab server on 127.0.0.1 (random port, token) serving `root`; its kernels get `env`.
    Yields {"base", "token", "root"}; stops the server on exit."""
    port, token = free_port(), secrets.token_hex(16)
    env = dict(env, JUPYTER_CONFIG_DIR=str(root / "config"), JUPYTER_RUNTIME_DIR=str(root / "runtime"))
    log_path = root / "jupyter.log"
    with open(log_path, "w") as log:
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
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + start_timeout_s
            while True:
                try:
                    urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise WorkshopError(
                            f"JupyterLab did not start; its log:\n{log_path.read_text()[-3000:]}"
                        ) from None
                    time.sleep(0.5)
            yield {"base": base, "token": token, "root": root}
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()


@contextmanager
def chromium():
    """Headless Chromium (the system's), through Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


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
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} still running after {timeout_s} s")
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
        if index < 0:
            raise LookupError(f"{self.name} has no code cell containing {needles}")
        return index

    def cell(self, index: int):
        return self.panel.locator(".jp-Notebook .jp-Cell").nth(index)

    def outputs(self, index: int) -> list[dict]:
        return self.js("return nb.content.model.cells.get(arg).outputs.toJSON();", index)

    def text(self) -> str:
        """Every code cell's printed text (stdout and stderr streams), in order."""
        return self.js(
            "const out = []; const cells = nb.content.model.cells;"
            "for (let i = 0; i < cells.length; i++) { const c = cells.get(i); if (c.type !== 'code') continue;"
            "  for (const o of c.outputs.toJSON()) if (o.output_type === 'stream') out.push(o.text); }"
            "return out.join('');"
        )

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


def open_notebook(browser, lab: dict, name: str) -> Notebook:
    path = lab["root"] / "notebooks" / name
    if not path.is_file():
        raise FileNotFoundError(f"notebooks/{name} is missing from the workspace {lab['root']}")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{lab['base']}/lab/tree/notebooks/{name}?token={lab['token']}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    return Notebook(page, name)
