"""The notebooks are the source. One command keeps them clean and their few generated parts in step:

    python tools/nb.py                   # clean + format every notebook, re-render the generated parts
    python tools/nb.py --check           # change nothing; list what is out of step (exit 1 if anything is)
    python tools/nb.py --repo you/fork   # point badges, setup cells and README at your fork, then as above

Run it after editing a notebook in Jupyter or Colab, before committing (the pre-commit hook runs it).

Cleaning (nbstripout, then an allow-list): no outputs, no execution counts, no cell ids (stored as
nbformat 4.4, so a save in Jupyter or Colab never churns them); notebook metadata is exactly
NOTEBOOK_METADATA; cell metadata keeps only `tags`; Colab's own "Open in Colab" link cell is dropped
(the title cell has the badge). Code cells are formatted and linted by ruff (safe fixes only).

Generated parts, marked by a cell tag (JupyterLab shows tags in the right-hand property inspector):
  generated:title     cell 0: its first line (the Colab badge) and the number of its `# NN · Title` line
  generated:setup     cell 1: the whole setup cell, from SETUP_CELL and the configured repo
  generated:solution  a collapsed solution: `solution_NAME` from helpers/exercises/nbNN.py, as `NAME`
  generated:series    notebook 00's table of the notebooks, from their titles
plus the README's notebook table and preset table (from PRESETS and benchmarks/measured.json), between
their <!-- ...:start/end --> markers. Everything else is the author's and is never changed beyond cleaning
and formatting. A new notebook whose cells 0 and 1 are a title and a setup cell (and whose
`<details><summary>Solution` cells name a `solution_` function) is adopted: the tags are added.

The GitHub owner/name is kept in one place, `[tool.gpt-from-scratch] github` in pyproject.toml.
Prose must not type figures that code knows (FIGURE_PATTERNS: times, sizes, shapes, settings, amounts of data,
shares, results; less known_figures(), facts of the fixed corpus): --check lists them; print them from a cell.
It does not run notebooks (nbval does, under pytest) nor judge their teaching (tests/test_notebook_structure.py).
"""

from __future__ import annotations

import argparse
import ast
import copy
import importlib.util
import inspect
import math
import re
import subprocess
import sys
from pathlib import Path

import nbformat
from nbstripout import strip_output

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # helpers from this checkout, without installing it

from helpers.data import CORPUS_VOCAB_SIZE, train_val_split  # noqa: E402
from helpers.errors import WorkshopError  # noqa: E402
from helpers.measured import recorded_runs  # noqa: E402
from helpers.presets import PRESETS  # noqa: E402
from helpers.runs import COLAB_CONTENT_ENV  # noqa: E402
from helpers.settings import project_setting, set_project_setting  # noqa: E402

FIX = "Fix: python tools/nb.py"

TITLE_TAG, SETUP_TAG, SOLUTION_TAG, SERIES_TAG = (
    "generated:title",
    "generated:setup",
    "generated:solution",
    "generated:series",
)
NOTEBOOK_METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}
CELL_METADATA_KEPT = ("tags",)
COLAB_LINK_CELL_ID = "view-in-github"  # the cell Colab adds when saving to GitHub "with a link to Colab"

BADGE_SVG = "https://colab.research.google.com/assets/colab-badge.svg"
BADGE_LINE = re.compile(r"^\[!\[Open In Colab\]\(" + re.escape(BADGE_SVG) + r"\)\]\(\S+\)$")
TITLE_LINE = re.compile(r"^# (?:(\d+) · )?(.+)$")
SOLUTION_START = "<details><summary>Solution (click to open)</summary>"
NOTEBOOK_NAME = re.compile(r"^(\d\d)_[a-z0-9_]+\.ipynb$")

# Figures typed into prose drift from the code (issue 9): parameter counts, times, millions, and the
# sizes, shapes, counts and shares that presets and cells set.
NUMBER = r"\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?"  # 2,000 / 8,000 / 384 / 1.1
FIGURE_PATTERNS = [
    re.compile(r"\b\d+(?:\.\d+)?\s?(?:M parameters|s on|seconds|minutes)\b"),
    re.compile(r"\b\d+(?:\.\d+)?\s?(?:ms|s|min|h|hours?)\b(?![\w-])"),  # a time: "26.5 s", "2 min"
    re.compile(r"\b\d+(?:\.\d+)?[MB]\b"),  # a count in millions or billions: "10.8M"
    re.compile(r"\b\d{1,3}(?:,\d{3}){2,}\b"),  # a count of millions written out: "10,770,816"
    re.compile(rf"\b(?:{NUMBER})\s(?:thousand|million|billion)\b"),  # "1.1 million characters"
    # a model's shape: "6 layers", "6 heads of 64", "384 wide", "a 1024-token tokenizer"
    re.compile(r"\b\d+\s?(?:layers?|heads?|wide)\b|\bheads? of \d+|\b\d+-(?:token|layer|head)\b"),
    # a setting with its value: "context 256", "a context of 256", "batch 64", "`n_embd = 384`"
    re.compile(r"\b(?:context|batch|batch size|block_size|n_embd|n_layer|n_head)(?: of|\s?=)?\s?\d+"),
    # an amount of data: "2,000 characters", "500 tokens", "8,000 samples" (not bytes: "4 bytes" per fp32 is a fact)
    re.compile(rf"\b(?:{NUMBER})\s(?:characters|tokens|lines|steps|samples|sequences|sums|pictures|sounds|patches)\b"),
    re.compile(r"\b\d+(?:\.\d+)?\s?%"),  # a share: "30%"
    # a result: "a val loss of 1.47", "perplexity ≈ 4.3" (ln(65) ≈ 4.17, the uniform guess's, is known_figures)
    re.compile(
        r"\b(?:loss|perplexity|bits per character)(?:\s(?:of|is|≈|=|about|around|near|below|above|from|to))*\s\d+\.\d+"
    ),
    # a shape written out: "6 × 384 model", "a 16×32 picture", "4×4-pixel patches", "the 4×8 grid"
    re.compile(r"\b\d+\s?×\s?\d+(?:-pixel|\s(?:model|picture|grid|image|patch))"),
]

GPT2_VOCAB_SIZE = 50_257  # GPT-2's published BPE vocabulary: not a setting of ours


def known_figures() -> set[str]:
    """Figures that prose may state because they are facts of the fixed corpus or published elsewhere, not
    settings: the corpus's vocabulary (and ln of it, the uniform guess's loss), the train/val split's shares
    (both read from helpers, so a change there makes the prose's figure a finding), GPT-2's vocabulary."""
    train_share = round(100 * inspect.signature(train_val_split).parameters["train_fraction"].default)
    return {
        str(CORPUS_VOCAB_SIZE),
        f"{math.log(CORPUS_VOCAB_SIZE):.2f}",
        str(train_share),
        str(100 - train_share),
        f"{GPT2_VOCAB_SIZE:,}",
    }


SETUP_CELL = """# Setup: run this first. In Colab it fetches the workshop once (safe to re-run); locally it finds it.
REPO = "{repo}"  # a fork changes this with: python tools/nb.py --repo you/your-fork
import os
import subprocess
import sys
from pathlib import Path

if "google.colab" in sys.modules:  # {content_env} is unset in Colab: tests stand in another folder
    ROOT = Path(os.environ.get("{content_env}") or "/content") / "gpt-from-scratch"
    if not (ROOT / "helpers").is_dir():
        subprocess.run(["git", "clone", "-q", "--depth=1", f"https://github.com/{{REPO}}", str(ROOT)], check=True)
else:
    ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "helpers").is_dir())
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # import helpers from the checkout: no pip install, no restart

from helpers.notebook import setup

device = setup()"""

README_NOTEBOOKS = ("<!-- notebooks:start -->", "<!-- notebooks:end -->")
README_PRESETS = ("<!-- presets:start -->", "<!-- presets:end -->")


# ---- the repo name ----------------------------------------------------------------------------
def configured_repo(root: Path = ROOT) -> str:
    repo = project_setting("github", root / "pyproject.toml")
    if not repo:
        raise SystemExit('error: pyproject.toml needs [tool.gpt-from-scratch] github = "owner/name"')
    return repo


def set_repo(root: Path, repo: str) -> None:
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
        raise SystemExit(f"error: {repo!r} is not owner/name, e.g. your-name/gpt-from-scratch")
    set_project_setting("github", repo, root / "pyproject.toml")


def badge_markdown(repo: str, notebook_name: str) -> str:
    url = f"https://colab.research.google.com/github/{repo}/blob/main/notebooks/{notebook_name}"
    return f"[![Open In Colab]({BADGE_SVG})]({url})"


def setup_source(repo: str) -> str:
    return SETUP_CELL.format(repo=repo, content_env=COLAB_CONTENT_ENV)


# ---- cleaning ---------------------------------------------------------------------------------
def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Strip what a Jupyter or Colab save adds (outputs, counts, ids, metadata); keep the cells' sources."""
    nb.cells = [cell for cell in nb.cells if cell.get("metadata", {}).get("id") != COLAB_LINK_CELL_ID]
    for cell in nb.cells:  # the allow-list first: nbstripout then sees only well-formed tags
        kept = {key: cell.metadata[key] for key in CELL_METADATA_KEPT if key in cell.metadata}
        tags = kept.get("tags")
        if isinstance(tags, list) and tags and all(isinstance(t, str) for t in tags):
            kept["tags"] = list(dict.fromkeys(tags))
        else:
            kept.pop("tags", None)  # Colab can write "tags": null
        cell.metadata = nbformat.from_dict(kept)
        cell.pop("id", None)
    strip_output(nb, keep_output=False, keep_count=False, keep_id=True)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None  # also where a `keep_output` tag asked otherwise
    nb.metadata = nbformat.from_dict(copy.deepcopy(NOTEBOOK_METADATA))
    nb.nbformat, nb.nbformat_minor = 4, 4
    return nb


# ---- generated regions ------------------------------------------------------------------------
def tags_of(cell) -> list[str]:
    return list(cell.metadata.get("tags", []))


def add_tag(cell, tag: str) -> None:
    cell.metadata["tags"] = [*tags_of(cell), tag]


def title_of(nb) -> str:
    """The title line of cell 0 without '# ' (e.g. '03 · Attention: letting each character look back')."""
    if not nb.cells:
        return ""
    return next((line[2:].strip() for line in nb.cells[0].source.splitlines() if line.startswith("# ")), "")


def render_title(source: str, repo: str, name: str) -> str:
    """Cell 0 with the badge for this notebook as its first line and this notebook's number in its title."""
    lines = source.split("\n")
    if lines and BADGE_LINE.match(lines[0]):
        lines[0] = badge_markdown(repo, name)
    else:
        lines[:0] = [badge_markdown(repo, name), ""]
    for i, line in enumerate(lines):
        match = TITLE_LINE.match(line)
        if match:
            lines[i] = f"# {name[:2]} · {match.group(2)}"
            break
    return "\n".join(lines)


def solutions_in(module: Path) -> dict[str, str]:
    """`{name: source}` for each `solution_NAME` function of an exercise module, renamed to NAME.

    Read with `ast`, not imported: rendering needs no torch, and a broken module cannot run code here.
    """
    if not module.is_file():
        return {}
    text = module.read_text(encoding="utf-8")
    found = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("solution_"):
            name = node.name[len("solution_") :]
            start = (node.decorator_list[0] if node.decorator_list else node).lineno
            source = "\n".join(text.splitlines()[start - 1 : node.end_lineno])
            found[name] = source.replace(f"def {node.name}(", f"def {name}(", 1)
    return found


def render_solution(source: str) -> str:
    return f"{SOLUTION_START}\n\n```python\n{source}\n```\n\n</details>"


def solution_name(cell) -> str | None:
    match = re.search(r"^def (\w+)\(", cell.source, re.M)
    return match.group(1) if match else None


def titles(root: Path) -> list[tuple[Path, str]]:
    """Each notebook with its title's text (without '# NN · ': the number is the file name's)."""
    found = []
    for path in notebook_paths(root):
        match = TITLE_LINE.match("# " + title_of(clean(nbformat.read(path, as_version=4))))  # as saved by Colab, too
        found.append((path, match.group(2) if match else path.stem))
    return found


SERIES_HEADER = "| notebook | what it builds |"


def series_table(root: Path) -> str:
    rows = [SERIES_HEADER, "|---|---|"]
    rows += [f"| {path.name[:2]} | {text} |" for path, text in titles(root)]
    return "\n".join(rows)


def sync(nb, name: str, repo: str, root: Path) -> list[str]:
    """Re-render this notebook's generated cells in place (adopting unmarked ones); return what it cannot fix."""
    problems = []
    cells = nb.cells
    if len(cells) < 2:
        return ["needs a title cell (0) and a setup cell (1); copy them from notebooks/00_setup_and_data.ipynb"]
    title, setup = cells[0], cells[1]
    if TITLE_TAG not in tags_of(title):
        if title.cell_type == "markdown" and (BADGE_LINE.match(title.source.split("\n")[0]) or title_of(nb)):
            add_tag(title, TITLE_TAG)
        else:
            problems.append("cell 0 must be the title: a markdown cell with a '# NN · Title' line")
    if TITLE_TAG in tags_of(title):
        title.source = render_title(title.source, repo, name)
    if SETUP_TAG not in tags_of(setup):
        if setup.cell_type == "code" and "from helpers.notebook import setup" in setup.source:
            add_tag(setup, SETUP_TAG)
        else:
            problems.append("cell 1 must be the setup cell; copy it from notebooks/00_setup_and_data.ipynb")
    if SETUP_TAG in tags_of(setup):
        setup.source = setup_source(repo)

    solutions = solutions_in(root / "helpers" / "exercises" / f"nb{name[:2]}.py")
    for i, cell in enumerate(cells):
        if cell.cell_type != "markdown":
            continue
        if SOLUTION_TAG not in tags_of(cell) and cell.source.startswith(SOLUTION_START):
            add_tag(cell, SOLUTION_TAG)
        if SOLUTION_TAG in tags_of(cell):
            function = solution_name(cell)
            if function in solutions:
                cell.source = render_solution(solutions[function])
            else:
                problems.append(
                    f"solution cell {i} shows `def {function}(`, but helpers/exercises/nb{name[:2]}.py has no "
                    f"solution_{function}: rename one of them"
                )
        if SERIES_TAG not in tags_of(cell) and name.startswith("00_") and cell.source.startswith(SERIES_HEADER):
            add_tag(cell, SERIES_TAG)
        if SERIES_TAG in tags_of(cell):
            cell.source = series_table(root)
    return problems


def typed_figures(nb) -> list[str]:
    """Figures written into markdown that code should print instead (FIGURE_PATTERNS), less known_figures()."""
    known = known_figures()
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown" or SERIES_TAG in tags_of(cell):
            continue
        matches = [m for pattern in FIGURE_PATTERNS for m in pattern.finditer(cell.source)]
        spans = sorted((m.start(), m.end()) for m in matches if not set(re.findall(NUMBER, m.group())) <= known)
        for start, end in spans:  # two patterns matching one figure report it once
            if not found or found[-1][0] != i or start >= found[-1][2]:
                found.append((i, start, end))
            else:
                found[-1] = (i, found[-1][1], max(end, found[-1][2]))
    return [f"cell {i}: {nb.cells[i].source[start:end]!r}" for i, start, end in found]


# ---- the README -------------------------------------------------------------------------------
def readme_notebook_table(root: Path, repo: str) -> str:
    rows = ["| notebook | open |", "|---|---|"]
    for path, text in titles(root):
        rows.append(f"| [{path.name[:2]} · {text}](notebooks/{path.name}) | {badge_markdown(repo, path.name)} |")
    return "\n".join(rows)


def readme_preset_table(root: Path) -> str:
    """One row per recorded run of each preset (or 'not measured yet'), from PRESETS and measured.json."""
    rows = [
        "| preset | model | parameters | training | best val loss | wall time, whole command | measured on |",
        "|---|---|---|---|---|---|---|",
    ]
    runs = recorded_runs(root / "benchmarks" / "measured.json")
    for name, preset in PRESETS.items():
        model = f"{preset.shape()}, {preset.settings()}"
        params = f"{preset.num_params() / 1e6:.2f}M"
        for run in [r for r in runs if r.preset == name] or [None]:
            if run is None:
                rows.append(f"| `{name}` | {model} | {params} | {preset.length()} | not measured yet | | |")
                continue
            loss = f"**{run.best_val_loss:.3f}**" if run.best_val_loss is not None else ""
            time = f"**{run.wall_time_s:g} s**" if run.wall_time_s is not None else ""
            where = f"{run.machine}; {run.date}; `{run.command}`" + (f". {run.note}" if run.note else "")
            length = preset.length()  # a time budget also says how many steps this machine took in it
            if run.steps is not None:
                length = f"{length} ({run.steps:,} steps)" if "budget_minutes" in preset.train else f"{run.steps} steps"
            rows.append(f"| {run.label or f'`{name}`'} | {model} | {params} | {length} | {loss} | {time} | {where} |")
    return "\n".join(rows)


def replace_between(text: str, markers: tuple[str, str], body: str) -> str | None:
    start, end = markers
    if start not in text or end not in text:
        return None
    head, rest = text.split(start, 1)
    return f"{head}{start}\n{body}\n{end}{rest.split(end, 1)[1]}"


def synced_readme(root: Path, repo: str) -> tuple[str, list[str]]:
    text = (root / "README.md").read_text(encoding="utf-8")
    problems = []
    for markers, body in (
        (README_NOTEBOOKS, readme_notebook_table(root, repo)),
        (README_PRESETS, readme_preset_table(root)),
    ):
        updated = replace_between(text, markers, body)
        if updated is None:
            problems.append(f"README.md: the markers {markers[0]} and {markers[1]} are missing")
        else:
            text = updated
    return text, problems


# ---- the command ------------------------------------------------------------------------------
def notebook_paths(root: Path) -> list[Path]:
    return sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def ruff(root: Path, *args: str) -> subprocess.CompletedProcess:
    """Ruff as installed with this Python, run in `root` (so that its pyproject.toml settings apply)."""
    if importlib.util.find_spec("ruff") is None:
        raise SystemExit("error: ruff is not installed. Fix: pip install -r requirements.txt")
    return subprocess.run([sys.executable, "-m", "ruff", *args], cwd=root, capture_output=True, text=True)


def run(root: Path = ROOT, check: bool = False) -> list[str]:
    """Clean and sync everything (or, with check, only report); return the problems left."""
    problems = []
    paths = notebook_paths(root)
    numbers = [p.name[:2] for p in paths]
    for number in sorted({n for n in numbers if numbers.count(n) > 1}):
        problems.append(f"notebooks/: two notebooks are numbered {number}: renumber one (file name and title)")
    problems += [f"notebooks/{p.name}: name it NN_lower_case.ipynb" for p in paths if not NOTEBOOK_NAME.match(p.name)]
    relative = [str(p.relative_to(root)) for p in paths]
    if relative:
        if check:
            result = ruff(root, "format", "--check", *relative)
            problems += [
                f"{line.split(': ')[-1]}: not formatted. {FIX}"
                for line in result.stdout.splitlines()
                if line.startswith("Would reformat")
            ]
        else:
            ruff(root, "check", "--fix", "--quiet", *relative)
            ruff(root, "format", "--quiet", *relative)
        lint = ruff(root, "check", "--quiet", "--output-format=concise", *relative)
        problems += [f"{line} (ruff: fix the code)" for line in lint.stdout.splitlines() if line.strip()]
    repo = configured_repo(root)
    for path in paths:
        rel = path.relative_to(root)
        raw = path.read_text(encoding="utf-8")
        nb = clean(nbformat.reads(raw, as_version=4))
        problems += [f"{rel}: {p}" for p in sync(nb, path.name, repo, root)]
        problems += [f"{rel}: a figure typed into prose, {f}: print it from a code cell" for f in typed_figures(nb)]
        text = nbformat.writes(nb) + "\n"
        if text != raw:
            if check:
                problems.append(f"{rel}: not clean, or a generated cell is out of step. {FIX}")
            else:
                path.write_text(text, encoding="utf-8")
                print(f"{rel}: cleaned and in step")
    readme, readme_problems = synced_readme(root, repo)
    problems += readme_problems
    if readme != (root / "README.md").read_text(encoding="utf-8"):
        if check:
            problems.append(f"README.md: the notebook or preset table is out of step. {FIX}")
        else:
            (root / "README.md").write_text(readme, encoding="utf-8")
            print("README.md: notebook and preset tables in step")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/nb.py", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if anything is out of step")
    parser.add_argument("--repo", help="GitHub owner/name to point badges and setup cells at (e.g. your fork)")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to work on (default: this one)")
    args = parser.parse_args(argv)
    if args.repo and args.check:
        parser.error("--repo changes files; run it without --check")
    try:
        if args.repo:
            set_repo(args.root, args.repo)
        problems = run(args.root.resolve(), check=args.check)
    except WorkshopError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
