"""The reader's edition (tools/edition.py) and its executor (tools/executor.py).

One module-wide build executes every notebook in smoke mode (WORKSHOP_SMOKE=1) into a temporary folder
and builds the site, as `python tools/edition.py --smoke` does in CI; then each notebook must have a page
with at least one rendered image and no error, its stamp and its Colab badge; widgets must be stills,
and two pages must show their plots in headless Chromium. The executor's incrementality and every bad
input of the command have their own tests. The site tools come from requirements-edition.txt: without
them the build is skipped, unless WORKSHOP_REQUIRE_EDITION=1 (set by .ci/run) makes that a failure.
"""

from __future__ import annotations

import base64
import functools
import http.server
import importlib.util
import json
import os
import re
import sys
import threading
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

import edition  # noqa: E402
import executor  # noqa: E402
import nb as nbtool  # noqa: E402

NOTEBOOKS = nbtool.notebook_paths(REPO)
SITE_TOOLS = all(importlib.util.find_spec(n) for n in ("mkdocs", "mkdocs_jupyter", "material"))
WITHOUT_PLOTS = {"01_tokenizer"}  # text in, numbers out: its only image is the Colab badge
BROWSER_PAGES = ("05_training", "06_sampling")  # the live loss plot and the widgets


def needs_site_tools():
    if SITE_TOOLS:
        return
    reason = f"the site tools are not installed ({edition.INSTALL})"
    if os.environ.get("WORKSHOP_REQUIRE_EDITION") == "1":
        pytest.fail(f"the edition test is required but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def smoke_edition(tmp_path_factory, corpus_path) -> Path:
    """Every notebook executed in smoke mode and the site built: the build folder."""
    needs_site_tools()
    out = tmp_path_factory.mktemp("edition")
    os.environ.setdefault("WORKSHOP_CORPUS", str(corpus_path))
    code = edition.main(["--smoke", "--out", str(out)])
    assert code == 0, "python tools/edition.py --smoke failed: see its output above"
    return out


def page(build: Path, stem: str) -> str:
    path = build / "site" / "notebooks" / stem / "index.html"
    assert path.is_file(), f"no page for {stem}.ipynb in the site"
    return path.read_text(encoding="utf-8")


IMAGE = re.compile(r'<img[^>]+src="(data:image/png;base64,[^"]+|(?!https?:)[^"]+\.png)"')


# ---- the site built from smoke-mode executions ----------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_notebook_has_a_page_with_an_image_and_no_error(smoke_edition, path):
    executed = nbformat.read(executor.executed_copy(smoke_edition / "notebooks", path), as_version=4)
    assert edition.error_outputs(executed) == [], f"{path.name} has error outputs in smoke mode"
    stamp = executed.metadata[executor.STAMP]
    assert stamp["mode"] == "smoke" and stamp["error"] is None and stamp["seconds"] > 0
    html = page(smoke_edition, path.stem)
    plots = sum(
        "image/png" in o.get("data", {})
        for cell in edition.page_notebook(executed).cells
        if cell.cell_type == "code"
        for o in cell.outputs
    )
    assert plots or path.stem in WITHOUT_PLOTS, f"{path.name} drew no plot"
    assert html.count('src="data:image/png;base64,') >= plots, f"{path.name}'s page lacks some of its plots"
    assert "<img" in html, f"{path.name}'s page shows no image"
    assert "Traceback" not in html and "widget-view+json" not in html
    assert "Executed in smoke mode" in html and stamp["commit"] in html, "the page lacks its execution stamp"
    colab = f"https://colab.research.google.com/github/{nbtool.configured_repo(REPO)}/blob/main/notebooks/{path.name}"
    assert colab in html, f"{path.name}'s page lacks its Colab badge"


@pytest.mark.slow
def test_the_site_has_the_readme_as_front_page_and_the_instructor_guide(smoke_edition):
    front = (smoke_edition / "site" / "index.html").read_text(encoding="utf-8")
    assert "Train a small GPT on tiny Shakespeare" in front
    assert 'href="notebooks/05_training/"' in front, "the README's notebook links do not lead to the pages"
    guide = smoke_edition / "site" / "docs" / "instructor" / "index.html"
    assert guide.is_file() and "timing" in guide.read_text(encoding="utf-8").lower()


@pytest.mark.slow
def test_widgets_become_stills_with_a_note(smoke_edition):
    html = page(smoke_edition, "06_sampling")
    playground = html.split("sampling_playground(model, tokenizer)", 1)[1].split("attention_explorer", 1)[0]
    assert "Interactive widget" in playground and "temperature" in playground
    assert IMAGE.search(playground), "the playground's chart is not on the page"


@pytest.mark.slow
def test_the_live_loss_plot_keeps_its_last_frame(smoke_edition):
    executed = nbformat.read(smoke_edition / "notebooks" / "05_training.ipynb", as_version=4)
    plot, sample = edition.training_result(executed)
    assert plot.startswith(b"\x89PNG") and sample.startswith("ROMEO:")


@pytest.mark.slow
def test_a_second_build_executes_nothing_that_is_current(smoke_edition, capsys):
    assert edition.main(["--smoke", "--out", str(smoke_edition), "01", "02"]) == 0
    assert "nothing to execute" in capsys.readouterr().out


@pytest.mark.slow
def test_a_stale_copy_is_named(smoke_edition, capsys):
    nb = nbformat.read(smoke_edition / "notebooks" / "02_bigram.ipynb", as_version=4)
    nb.metadata[executor.STAMP]["fingerprint"]["helpers"] = "changed since"
    nbformat.write(nb, smoke_edition / "notebooks" / "02_bigram.ipynb")
    try:
        assert edition.main(["--smoke", "--site-only", "--out", str(smoke_edition)]) == 0
        assert "on the site but stale: 02_bigram.ipynb" in capsys.readouterr().err
    finally:
        assert edition.main(["--smoke", "--out", str(smoke_edition), "02"]) == 0  # current again


# ---- in a browser -----------------------------------------------------------------------------------
@pytest.fixture
def served(smoke_edition):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(smoke_edition / "site"))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.slow
@pytest.mark.browser
def test_two_pages_show_their_plots_in_chromium(served):
    from test_browser import jupyter, missing  # jupyter: tools/lab.py

    CHROMIUM_ARGS, chromium_path = jupyter.CHROMIUM_ARGS, jupyter.chromium_path

    if chromium_path() is None:
        missing("no Chromium found (install it: apt-get install -y chromium; or set CHROMIUM=/path/to/chrome)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        try:
            for stem in BROWSER_PAGES:
                tab = browser.new_page()
                tab.goto(f"{served}/notebooks/{stem}/", wait_until="load")
                plots = tab.evaluate(
                    """() => Array.from(document.images)
                        .filter(i => i.src.startsWith('data:image/png') || i.src.startsWith(location.origin))
                        .map(i => ({complete: i.complete, width: i.naturalWidth}))"""
                )
                assert plots, f"{stem}: no plot on the page"
                broken = [i for i, plot in enumerate(plots) if not (plot["complete"] and plot["width"] > 0)]
                assert not broken, f"{stem}: plots {broken} of {len(plots)} did not render"
                tab.close()
        finally:
            browser.close()


# ---- the executor -----------------------------------------------------------------------------------
def fake_checkout(root: Path) -> Path:
    """notebooks/00_x.ipynb importing helpers.a, which imports .b; helpers.c is imported by nothing."""
    (root / "helpers").mkdir(parents=True)
    (root / "helpers" / "__init__.py").write_text("")
    (root / "helpers" / "a.py").write_text("from .b import thing\n")
    (root / "helpers" / "b.py").write_text("thing = 1\n")
    (root / "helpers" / "c.py").write_text("other = 2\n")
    (root / "notebooks").mkdir()
    path = root / "notebooks" / "00_x.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("%matplotlib inline\nfrom helpers.a import thing")])
    nbformat.write(nb, path)
    return path


def test_a_notebook_depends_on_the_helpers_it_imports_and_theirs(tmp_path):
    path = fake_checkout(tmp_path)
    files = {p.name for p in executor.helper_closure(nbformat.read(path, 4).cells[0].source, tmp_path)}
    assert files == {"__init__.py", "a.py", "b.py"}
    before = executor.fingerprint(path, tmp_path)
    (tmp_path / "helpers" / "c.py").write_text("other = 3\n")
    assert executor.fingerprint(path, tmp_path) == before, "an unrelated helper changed the fingerprint"
    (tmp_path / "helpers" / "b.py").write_text("thing = 2\n")
    assert executor.fingerprint(path, tmp_path)["helpers"] != before["helpers"]
    assert executor.fingerprint(path, tmp_path)["notebook"] == before["notebook"]


def test_every_notebook_of_the_series_has_helpers_to_follow():
    for path in NOTEBOOKS:
        code = "\n".join(c.source for c in nbformat.read(path, 4).cells if c.cell_type == "code")
        names = {p.relative_to(REPO).as_posix() for p in executor.helper_closure(code)}
        assert "helpers/__init__.py" in names and len(names) > 3, f"{path.name}: its helpers were not found"


@pytest.mark.slow
def test_a_failing_cell_is_recorded_and_its_copy_never_current(tmp_path):
    path = tmp_path / "notebooks" / "00_fails.ipynb"
    path.parent.mkdir()
    cells = [nbformat.v4.new_code_cell("print('before')"), nbformat.v4.new_code_cell("raise ValueError('boom')")]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    result = executor.execute(path, tmp_path / "out", smoke=True, timeout=120, root=tmp_path)
    assert result.error and "boom" in result.error
    executed = nbformat.read(tmp_path / "out" / path.name, as_version=4)
    assert executed.metadata[executor.STAMP]["error"] == result.error
    assert edition.error_outputs(executed) == ["cell 1: ValueError: boom"]
    assert not executor.is_current(path, tmp_path / "out", smoke=True, root=tmp_path)


def test_the_run_notebook_05_resumes_is_set_aside_not_lost(tmp_path):
    (tmp_path / "runs" / "notebook").mkdir(parents=True)
    (tmp_path / "runs" / "notebook" / "last.safetensors").write_text("old run")
    assert executor.set_aside_run(tmp_path / "notebooks" / "01_tokenizer.ipynb", tmp_path) is None
    previous = executor.set_aside_run(tmp_path / "notebooks" / "05_training.ipynb", tmp_path)
    assert previous == tmp_path / "runs" / "notebook.previous" and not (tmp_path / "runs" / "notebook").exists()
    assert (previous / "last.safetensors").read_text() == "old run"
    assert executor.set_aside_run(tmp_path / "notebooks" / "05_training.ipynb", tmp_path) is None  # nothing to move


def test_a_copy_is_current_only_in_its_own_mode_and_with_its_own_source(tmp_path):
    path = fake_checkout(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    nb = nbformat.read(path, 4)
    nb.metadata[executor.STAMP] = {"mode": "smoke", "error": None, "fingerprint": executor.fingerprint(path, tmp_path)}
    nbformat.write(nb, out / path.name)
    assert executor.is_current(path, out, smoke=True, root=tmp_path)
    assert not executor.is_current(path, out, smoke=False, root=tmp_path)
    nb.cells[0].source += "\nprint(thing)"
    nbformat.write(nb, path)
    assert not executor.is_current(path, out, smoke=True, root=tmp_path)
    (out / path.name).write_text("not a notebook")
    assert not executor.is_current(path, out, smoke=True, root=tmp_path)


# ---- pieces of the page -----------------------------------------------------------------------------
def widget_state(models: dict) -> dict:
    return {"widgets": {edition.WIDGET_STATE: {"state": models}}}


def test_a_widget_without_saved_state_still_says_what_it_is():
    output = nbformat.v4.new_output("display_data", data={edition.WIDGET_VIEW: {"model_id": "gone"}})
    (note,) = edition.still_outputs(output, {})
    assert "Interactive widget" in note["data"]["text/html"] and "not saved" in note["data"]["text/html"]


def test_a_widget_becomes_its_settings_texts_and_images():
    png = base64.b64encode(b"\x89PNG fake").decode()
    models = {
        "box": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_s", "IPY_MODEL_h", "IPY_MODEL_i"]}},
        "s": {"model_name": "FloatSliderModel", "state": {"description": "temperature", "value": 0.8}},
        "h": {"model_name": "HTMLModel", "state": {"value": "<pre>ROMEO: hello</pre>"}},
        "i": {"model_name": "ImageModel", "state": {}, "buffers": [{"path": ["value"], "data": png}]},
    }
    output = nbformat.v4.new_output("display_data", data={edition.WIDGET_VIEW: {"model_id": "box"}})
    note, image = edition.still_outputs(output, models)
    assert "temperature <code>0.8</code>" in note["data"]["text/html"] and "ROMEO: hello" in note["data"]["text/html"]
    assert base64.b64decode(image["data"]["image/png"]) == b"\x89PNG fake"


def test_a_progress_bar_becomes_its_last_state_without_a_note():
    models = {
        "box": {"model_name": "HBoxModel", "state": {"children": ["IPY_MODEL_l", "IPY_MODEL_p", "IPY_MODEL_r"]}},
        "l": {"model_name": "HTMLModel", "state": {"value": "training: 100%"}},
        "p": {"model_name": "FloatProgressModel", "state": {"value": 700, "max": 700}},
        "r": {"model_name": "HTMLModel", "state": {"value": "700/700 [00:39&lt;00:00]"}},
    }
    output = nbformat.v4.new_output("display_data", data={edition.WIDGET_VIEW: {"model_id": "box"}})
    (line,) = edition.still_outputs(output, models)
    html = line["data"]["text/html"]
    assert html == '<div>training: 100% <progress value="700" max="700"></progress> 700/700 [00:39&lt;00:00]</div>'


def test_the_site_address_is_github_pages_of_the_configured_repo():
    assert edition.site_url("Some-One/gpt-from-scratch") == "https://some-one.github.io/gpt-from-scratch/"


def test_links_to_files_outside_the_site_point_at_github(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "05_training.ipynb").write_text("{}")
    text = "[05](notebooks/05_training.ipynb), [doctor](helpers/doctor.py#L1), [web](https://x.org/a.md)"
    fixed = edition.github_links(text, Path("index.md"), REPO, tmp_path, "o/n")
    assert fixed == (
        "[05](notebooks/05_training.ipynb), [doctor](https://github.com/o/n/blob/main/helpers/doctor.py#L1), "
        "[web](https://x.org/a.md)"
    )


# ---- the README's result ------------------------------------------------------------------------------
def test_the_readme_links_to_the_site_and_shows_the_exported_result():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start, end = edition.README_MARKERS
    assert start in text and end in text, "README.md lacks the edition markers"
    block = text.split(start, 1)[1].split(end, 1)[0]
    assert edition.site_url(nbtool.configured_repo(REPO)) in block, (
        "the README does not link to the site. Fix: python tools/edition.py --site-only --export"
    )
    image = edition.RESULT_IMAGE.relative_to(REPO).as_posix()
    assert f"]({image})" in block and edition.RESULT_IMAGE.is_file(), "the README does not show the exported plot"
    assert edition.RESULT_IMAGE.stat().st_size < 60_000, "the README's plot should stay a few tens of KB"
    assert "```text\nROMEO:" in block, "the README does not show the exported sample"


# ---- bad input ------------------------------------------------------------------------------------------
def run_edition(capsys, *argv) -> tuple[int, str]:
    code = edition.main(list(argv))
    return code, capsys.readouterr().err


def test_an_unknown_notebook_number_is_named(capsys, tmp_path):
    code, err = run_edition(capsys, "--smoke", "--out", str(tmp_path), "05", "99")
    assert code == 2 and "no notebook numbered 99" in err and "05" in err and "Fix:" in err


def test_a_timeout_must_be_positive(capsys, tmp_path):
    code, err = run_edition(capsys, "--smoke", "--out", str(tmp_path), "--timeout", "0")
    assert code == 2 and "--timeout must be a positive number" in err


def test_site_only_and_force_contradict(capsys, tmp_path):
    code, err = run_edition(capsys, "--site-only", "--force", "--out", str(tmp_path))
    assert code == 2 and "--site-only executes nothing" in err


def test_missing_site_tools_say_how_to_install_them(capsys, tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mkdocs" else real(name, *a))
    code, err = run_edition(capsys, "--smoke", "--site-only", "--out", str(tmp_path))
    assert code == 2 and "mkdocs" in err and edition.INSTALL in err


def test_notebooks_not_executed_yet_are_listed_and_fail_the_command(capsys, tmp_path):
    needs_site_tools()
    (tmp_path / "notebooks").mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 01 · T")])
    nbformat.write(nb, tmp_path / "notebooks" / "01_tokenizer.ipynb")  # a copy without a stamp
    code, err = run_edition(capsys, "--smoke", "--site-only", "--out", str(tmp_path))
    assert code == 1
    assert "00_setup_and_data.ipynb: not executed yet (python tools/edition.py 00)" in err
    assert "01_tokenizer.ipynb" in err and "no execution stamp" in err


def test_the_readme_result_comes_from_a_full_mode_copy_only(tmp_path):
    (tmp_path / "notebooks").mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata[executor.STAMP] = {"mode": "smoke"}
    nbformat.write(nb, tmp_path / "notebooks" / "05_training.ipynb")
    with pytest.raises(edition.WorkshopError, match="full-mode result only"):
        edition.export_result(tmp_path, "o/n")
    with pytest.raises(edition.WorkshopError, match="05_training.ipynb is missing"):
        edition.export_result(tmp_path / "empty", "o/n")


def test_a_training_notebook_without_its_plot_or_sample_is_named():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("trainer = resume_or_start(x)  # LiveLossPlot(")])
    with pytest.raises(edition.WorkshopError, match="lacks its training run's loss plot or its sample"):
        edition.training_result(nb)


def test_the_timing_record_is_json_the_doctor_reads():
    record = json.loads((REPO / "docs" / "timings.json").read_text(encoding="utf-8"))
    full = [r for r in record["runs"] if r["mode"] == "full"]
    assert full and all(r["probe_tokens_per_s"] > 0 and r["seconds"] > 0 for r in full)
