"""The reader's edition: every notebook executed in full mode, published as a static site.

    python tools/edition.py              # execute what changed (full mode), record timings, build the site
    python tools/edition.py 05 06        # consider only these notebooks for execution (the site has all)
    python tools/edition.py --force      # execute every notebook again
    python tools/edition.py --site-only  # execute nothing: build the site from the executed copies
    python tools/edition.py --smoke      # smoke mode into build/edition-smoke/ (CI's test; seconds a notebook)

Execution (tools/executor.py, the executor tools/time_notebooks.py uses too): each notebook runs top to
bottom in a fresh kernel; its executed copy goes to build/edition/notebooks/ (git-ignored), and in full
mode its time goes to docs/timings.json and the instructor guide's table (one run serves both). A copy
is current, and not executed again, while the notebook and the helpers modules it imports are unchanged;
what one notebook reads from another's run (notebook 05's model) is not tracked: after 05 changes, --force.
Executed in full mode, notebook 05 starts its run fresh (the previous one is kept in runs/notebook.previous).

The site (build/edition/site/): the README as its front page, docs/ (the instructor guide), and each
notebook as a page with its outputs, its Colab badge, and a line saying where, when and at which commit
it was executed and how long it took (from the copy's stamp: facts from code). Widgets, which a static
page cannot run, become what they showed when executed (their images, texts and settings) under a note
saying so. In full mode it also exports the README's result: the training run's final loss plot
(docs/edition_loss.png) and its sample, between the README's <!-- edition:start/end --> markers.

Why MkDocs with mkdocs-jupyter: it renders executed notebooks as they are (execute: false) with
nbconvert, which the project already has; it brings a handful of pure-Python packages (mkdocs,
mkdocs-material, jupytext), builds in seconds, and publishes with one `mkdocs build`. Jupyter Book 1.x
brings Sphinx and its extensions (many more packages) and its own execution cache, which would duplicate
tools/executor.py; Jupyter Book 2 is a Node.js tool. Requirements: requirements-edition.txt. MkDocs 1.6
and Material are in maintenance (Material announces its end of life for May 2027; its successor, Zensical,
reads the same mkdocs.yml): the configuration is one function here, mkdocs_config().

What it does not know: whether the pages read well, or anything about hosting but the GitHub Pages
address (from `[tool.gpt-from-scratch] github`, as tools/nb.py derives the badges' owner/name).
"""

from __future__ import annotations

import argparse
import base64
import copy
import html
import importlib.util
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import executor  # noqa: E402
import nb as nbtool  # noqa: E402
import nbformat  # noqa: E402
import time_notebooks as timing  # noqa: E402

from helpers.errors import WorkshopError, cli_exit_status, require  # noqa: E402
from helpers.live import format_duration  # noqa: E402

BUILD = ROOT / "build" / "edition"
SMOKE_BUILD = ROOT / "build" / "edition-smoke"
RESULT_IMAGE = ROOT / "docs" / "edition_loss.png"
README_MARKERS = ("<!-- edition:start -->", "<!-- edition:end -->")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
INSTALL = "pip install -r requirements-edition.txt"
RESULT_WIDTH = 720  # pixels: the README's plot stays a few tens of KB


def site_url(repo: str) -> str:
    """GitHub Pages' address of a project site: https://owner.github.io/name/."""
    owner, name = repo.split("/")
    return f"https://{owner.lower()}.github.io/{name}/"


# ---- a notebook's page ---------------------------------------------------------------------------
def stamp_line(stamp: dict) -> str:
    mode = "full mode" if stamp["mode"] == "full" else "smoke mode (WORKSHOP_SMOKE=1: training cut to seconds)"
    return (
        f"*Executed in {mode} on {stamp['machine']}, {stamp['started_utc']}, at commit `{stamp['commit']}`; "
        f"top to bottom it took {format_duration(stamp['seconds'])}. Open it in Colab (the badge above) to run it.*"
    )


def widget_models(nb) -> dict:
    return nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})


def widget_parts(model_id: str, models: dict) -> tuple[list[str], list[bytes]]:
    """What a widget showed when executed, in display order: its controls' settings and texts (as HTML,
    a progress bar as an HTML <progress>) and its images (PNG bytes)."""
    texts, images = [], []

    def walk(ref: str) -> None:
        model = models.get(ref.removeprefix("IPY_MODEL_"))
        if model is None:
            return
        state, name = model.get("state", {}), model.get("model_name", "")
        label = html.escape(state.get("description") or "")
        if name == "ImageModel":
            images.extend(base64.b64decode(b["data"]) for b in model.get("buffers", []) if b.get("path") == ["value"])
        elif name in ("HTMLModel", "HTMLMathModel"):
            if state.get("value"):
                texts.append(state["value"])
        elif name in ("TextModel", "TextareaModel", "LabelModel"):
            value = html.escape(str(state.get("value", "")))
            texts.append(f"{label} <code>{value}</code>" if label else f"<pre>{value}</pre>")
        elif name in ("FloatProgressModel", "IntProgressModel"):
            texts.append(f'<progress value="{state.get("value", 0)}" max="{state.get("max", 100)}"></progress>')
        elif "Slider" in name or name in ("IntTextModel", "FloatTextModel", "CheckboxModel"):
            texts.append(f"{label} <code>{html.escape(str(state.get('value')))}</code>")
        elif name == "DropdownModel":
            options, index = state.get("_options_labels", []), state.get("index")
            chosen = options[index] if index is not None and index < len(options) else ""
            texts.append(f"{label} <code>{html.escape(str(chosen))}</code>")
        for child in state.get("children", []):
            walk(child)

    walk(model_id)
    return texts, images


def still_outputs(output, models: dict) -> list:
    """A widget's output as static outputs: a note, its settings and texts, then its images."""
    texts, images = widget_parts(output["data"][WIDGET_VIEW]["model_id"], models)
    if any(t.startswith("<progress") for t in texts):  # tqdm's bar: its last state, on one line
        return [nbformat.v4.new_output("display_data", data={"text/html": f"<div>{' '.join(texts)}</div>"})]
    note = (
        "<p><strong>Interactive widget</strong>: a static page cannot run it. Below is what it showed when this "
        "page was executed, with its default settings; open the notebook in Colab or Jupyter to move its "
        "controls.</p>"
    )
    if not texts and not images:
        note += "<p>(Its state was not saved with the executed notebook.)</p>"
    body = note + "".join(f"<div>{t}</div>" for t in texts)
    outs = [nbformat.v4.new_output("display_data", data={"text/html": body})]
    for png in images:
        outs.append(nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(png).decode()}))
    return outs


def page_notebook(executed) -> nbformat.NotebookNode:
    """The executed copy as its page shows it: the stamp under the title, widgets as stills."""
    nb = copy.deepcopy(executed)
    stamp = nb.metadata[executor.STAMP]
    models = widget_models(nb)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outs = []
        for output in cell.get("outputs", []):
            if WIDGET_VIEW in output.get("data", {}):
                outs += still_outputs(output, models)
            else:
                outs.append(output)
        cell.outputs = outs
    nb.metadata.pop("widgets", None)  # nothing for a widget manager to load: the stills replace them
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(stamp_line(stamp)))
    return nb


def error_outputs(nb) -> list[str]:
    """'cell N: EName: value' for each error output of an executed notebook."""
    return [
        f"cell {i}: {o.get('ename')}: {o.get('evalue')}"
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for o in cell.get("outputs", [])
        if o.get("output_type") == "error"
    ]


# ---- the site ------------------------------------------------------------------------------------
LINK = re.compile(r"(\]\()([^)\s#]+)([^)]*\))")


def github_links(text: str, page: Path, source_dir: Path, site_src: Path, repo: str) -> str:
    """Relative links to files that are not pages of the site point at them on GitHub instead."""

    def fix(match: re.Match) -> str:
        target = match.group(2)
        if "://" in target or target.startswith(("mailto:", "/")):
            return match.group(0)
        in_site = (site_src / page.parent / target).resolve()
        if in_site.exists():
            return match.group(0)
        in_repo = (source_dir / target).resolve()
        try:
            relative = in_repo.relative_to(ROOT).as_posix()
        except ValueError:
            return match.group(0)
        return f"{match.group(1)}https://github.com/{repo}/blob/main/{relative}{match.group(3)}"

    return LINK.sub(fix, text)


def doc_pages(site_src: Path) -> list[tuple[str, str]]:
    """The guides in docs/, the instructor's first, each titled by its first heading."""
    docs = sorted((site_src / "docs").glob("*.md"), key=lambda d: (d.name != "instructor.md", d.name))
    pages = []
    for doc in docs:
        heading = next(
            (line[2:].strip() for line in doc.read_text(encoding="utf-8").splitlines() if line.startswith("# ")),
            doc.stem,
        )
        pages.append((heading, f"docs/{doc.name}"))
    return pages


def mkdocs_config(repo: str, pages: list[tuple[str, str]], guides: list[tuple[str, str]]) -> str:
    guide_nav = "\n".join(f"  - {json.dumps(title, ensure_ascii=False)}: {path}" for title, path in guides)
    nav = (
        "\n".join(
            ["  - Notebooks:"] + [f"      - {json.dumps(title, ensure_ascii=False)}: {path}" for title, path in pages]
        )
        if pages
        else ""
    )
    return f"""# Written by tools/edition.py; rebuilt on each run.
site_name: "gpt-from-scratch: the reader's edition"
site_url: {site_url(repo)}
repo_url: https://github.com/{repo}
docs_dir: site-src
site_dir: site
theme:
  name: material
  font: false  # no web fonts: the pages load nothing from other sites but what notebooks' HTML asks for
plugins:
  - search
  - mkdocs-jupyter:
      execute: false
      include_source: true
validation:
  links:
    not_found: warn
    unrecognized_links: info
nav:
  - Home: index.md
{guide_nav}
{nav}
"""


def require_site_tools() -> None:
    missing = [name for name in ("mkdocs", "mkdocs_jupyter", "material") if importlib.util.find_spec(name) is None]
    require(not missing, f"building the site needs {', '.join(missing)}, which is not installed. Fix: {INSTALL}")


def build_site(build: Path, repo: str, paths: list[Path]) -> list[str]:
    """Write build/…/site-src from the README, docs/ and the executed copies, then run mkdocs.
    Returns the notebooks left out of the site (no executed copy), as lines to report."""
    require_site_tools()
    site_src = build / "site-src"
    shutil.rmtree(site_src, ignore_errors=True)
    (site_src / "notebooks").mkdir(parents=True)
    (site_src / "docs").mkdir()
    left_out, pages = [], []
    for path, title in nbtool.titles(ROOT):
        if path not in paths:
            continue
        executed = executor.executed_copy(build / "notebooks", path)
        if not executed.is_file():
            left_out.append(f"{path.name}: not executed yet (python tools/edition.py {path.name[:2]})")
            continue
        nb = nbformat.read(executed, as_version=4)
        if executor.STAMP not in nb.metadata:
            left_out.append(f"{path.name}: {executed} has no execution stamp (python tools/edition.py --force)")
            continue
        nbformat.write(page_notebook(nb), site_src / "notebooks" / path.name)
        pages.append((f"{path.name[:2]} · {title}", f"notebooks/{path.name}"))
    for doc in sorted((ROOT / "docs").iterdir()):
        if doc.suffix in (".png", ".jpg", ".svg", ".md"):
            shutil.copy2(doc, site_src / "docs" / doc.name)
    # the pages' links, once every page is in place
    texts = {site_src / "index.md": ((ROOT / "README.md").read_text(encoding="utf-8"), ROOT)}
    for doc in (site_src / "docs").glob("*.md"):
        texts[doc] = (doc.read_text(encoding="utf-8"), ROOT / "docs")
    for target, (text, source_dir) in texts.items():
        page = target.relative_to(site_src)
        target.write_text(github_links(text, page, source_dir, site_src, repo), encoding="utf-8")
    (build / "mkdocs.yml").write_text(mkdocs_config(repo, pages, doc_pages(site_src)), encoding="utf-8")
    shutil.rmtree(build / "site", ignore_errors=True)
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(build / "mkdocs.yml")],
        capture_output=True,
        text=True,
        cwd=build,  # mkdocs-jupyter keeps its cache in .cache/ of the current folder
    )
    require(
        done.returncode == 0,
        f"mkdocs build failed:\n{done.stdout}{done.stderr}\nFix the page it names, then: python tools/edition.py "
        "--site-only",
    )
    return left_out


# ---- the README's result -------------------------------------------------------------------------
def training_result(executed) -> tuple[bytes, str]:
    """Notebook 05's main run: the last frame of its live loss plot, and the sample printed from its best
    checkpoint (the cells that use LiveLossPlot and load_model)."""
    plot = sample = None
    for cell in executed.cells:
        if cell.cell_type != "code":
            continue
        if "LiveLossPlot(" in cell.source and "resume_or_start" in cell.source:
            images = [o for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
            plot = base64.b64decode(images[-1]["data"]["image/png"]) if images else None
        if "load_model(" in cell.source and "sample_text(" in cell.source:
            sample = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stdout")
    require(
        plot is not None and bool(sample),
        "notebook 05's executed copy lacks its training run's loss plot or its sample (looked for the cells "
        "using LiveLossPlot with resume_or_start, and load_model with sample_text). Fix: python tools/edition.py "
        "05 --force, or update training_result() if those cells changed.",
    )
    return plot, sample.strip()


def small_png(png: bytes, width: int = RESULT_WIDTH) -> bytes:
    """The plot scaled down to `width` and to a 64-colour palette: a few tens of KB."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    if image.width > width:
        image = image.resize((width, round(image.height * width / image.width)), Image.LANCZOS)
    out = io.BytesIO()
    image.quantize(colors=64).save(out, format="PNG", optimize=True)
    return out.getvalue()


def readme_result(repo: str, stamp: dict, sample: str) -> str:
    lines = sample.splitlines()[:12]
    return "\n".join(
        [
            f"**Read it without running anything: [the reader's edition]({site_url(repo)})**, every notebook "
            "executed, with its plots and samples.",
            "",
            "What notebook 05 trains: its loss curves and a sample from its best checkpoint, taken from the "
            f"reader's edition (executed on {stamp['machine']}, {stamp['started_utc']}, commit `{stamp['commit']}`):",
            "",
            f"![notebook 05's train and validation loss]({RESULT_IMAGE.relative_to(ROOT).as_posix()})",
            "",
            "```text",
            *lines,
            "```",
        ]
    )


def export_result(build: Path, repo: str) -> str:
    """Write docs/edition_loss.png and the README's edition block from notebook 05's executed copy."""
    path = next((p for p in nbtool.notebook_paths(ROOT) if p.name.startswith("05_")), None)
    require(path is not None, "no notebook 05 in notebooks/: the README's result comes from it")
    executed_path = executor.executed_copy(build / "notebooks", path)
    require(executed_path.is_file(), f"{executed_path} is missing. Fix: python tools/edition.py 05")
    executed = nbformat.read(executed_path, as_version=4)
    stamp = executed.metadata.get(executor.STAMP, {})
    require(stamp.get("mode") == "full", "the README shows a full-mode result only. Fix: python tools/edition.py 05")
    plot, sample = training_result(executed)
    RESULT_IMAGE.write_bytes(small_png(plot))
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    updated = nbtool.replace_between(text, README_MARKERS, readme_result(repo, stamp, sample))
    require(updated is not None, f"README.md lacks the markers {README_MARKERS[0]} and {README_MARKERS[1]}")
    (ROOT / "README.md").write_text(updated, encoding="utf-8")
    return (
        f"README.md and {RESULT_IMAGE.relative_to(ROOT)}: notebook 05's result ({len(RESULT_IMAGE.read_bytes())} bytes)"
    )


# ---- the command ---------------------------------------------------------------------------------
def selected(numbers: list[str]) -> list[Path]:
    paths = nbtool.notebook_paths(ROOT)
    known = {p.name[:2]: p for p in paths}
    unknown = [n for n in numbers if n not in known]
    require(
        not unknown,
        f"no notebook numbered {', '.join(unknown)}; the notebooks are {', '.join(known)}. "
        "Fix: give two-digit numbers, e.g. python tools/edition.py 05 06",
    )
    return [known[n] for n in numbers] if numbers else paths


def run(args) -> int:
    require(args.timeout > 0, f"--timeout must be a positive number of seconds, not {args.timeout}")
    require(not (args.site_only and args.force), "--site-only executes nothing, so --force has no meaning with it")
    build = args.out or (SMOKE_BUILD if args.smoke else BUILD)
    repo = nbtool.configured_repo(ROOT)
    chosen = selected(args.numbers)  # the arguments first, then what the machine lacks
    require_site_tools()  # before hours of execution, not after
    failed = []
    if not args.site_only:
        record = None if args.smoke else timing.RECORD
        command = "python tools/edition.py" + (" --smoke" if args.smoke else "")
        results = timing.execute_and_record(
            chosen, build / "notebooks", args.smoke, args.timeout, record, command, force=args.force
        )
        failed = [r for r in results if r.error]
        if not results:
            print("every executed copy is current: nothing to execute (--force executes again)")
        elif record is not None:
            timing.GUIDE.write_text(timing.render(ROOT), encoding="utf-8")
            print(f"{timing.GUIDE.relative_to(ROOT)}: timing table in step with {timing.RECORD.relative_to(ROOT)}")
    left_out = build_site(build, repo, nbtool.notebook_paths(ROOT))
    print(f"site: {build / 'site'} (publish: {site_url(repo)})")
    if not args.smoke and not args.site_only or args.export:
        try:
            print(export_result(build, repo))
        except WorkshopError as err:
            left_out.append(f"README result not exported: {err}")
    stale = [
        p.name
        for p in nbtool.notebook_paths(ROOT)
        if executor.executed_copy(build / "notebooks", p).is_file()
        and not executor.is_current(p, build / "notebooks", args.smoke)
        and p.stem not in {r.notebook for r in failed}
    ]
    if stale:  # on the site, but executed before its notebook or helpers changed (or in the other mode)
        print(f"on the site but stale: {', '.join(stale)} (python tools/edition.py executes them)", file=sys.stderr)
    for result in failed:
        print(f"FAILED {result.notebook}: {result.error}", file=sys.stderr)
    for line in left_out:
        print(f"not in the edition: {line}", file=sys.stderr)
    return 1 if failed or left_out else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/edition.py", description=__doc__.splitlines()[0])
    parser.add_argument("numbers", nargs="*", help="notebook numbers to execute if changed (default: all)")
    parser.add_argument("--force", action="store_true", help="execute even the notebooks whose copy is current")
    parser.add_argument("--smoke", action="store_true", help="smoke mode, into build/edition-smoke/ (for CI)")
    parser.add_argument("--site-only", action="store_true", help="execute nothing; build the site from the copies")
    parser.add_argument("--export", action="store_true", help="export the README's result even with --site-only")
    parser.add_argument("--out", type=Path, help="the build folder (default build/edition or build/edition-smoke)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds a cell may take (default 3600)")
    args = parser.parse_args(argv)
    return cli_exit_status(lambda: run(args))


if __name__ == "__main__":
    raise SystemExit(main())
