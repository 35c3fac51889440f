"""tools/nb.py on a copy of the checkout: adopting a new notebook, and every mistake it must name with its fix."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

import nb as tool  # noqa: E402  (tools/nb.py)

OLD_SETUP = tool.setup_source("someone/else").replace("python tools/nb.py --repo", "python tools/set_repo.py")
SOLUTION = '''def solution_cache_size(n_layer: int, n_tokens: int) -> int:
    """Two cached tensors (keys, values) per layer and token."""
    return 2 * n_layer * n_tokens
'''


def new_notebook(root: Path, name: str, cells: list) -> Path:
    notebook = nbformat.v4.new_notebook(cells=cells)  # as nbformat writes it today: 4.5, with cell ids
    path = root / "notebooks" / name
    nbformat.write(notebook, path)
    return path


def todays_conventions(number: str = "07", title: str = "The KV cache") -> list:
    """A notebook as another developer writes it now: badge + title, setup cell, exercise, solution; no tags."""
    return [
        nbformat.v4.new_markdown_cell(
            f"[![Open In Colab]({tool.BADGE_SVG})](https://x)\n\n# {number} · {title}\n\nWhy."
        ),
        nbformat.v4.new_code_cell(OLD_SETUP),
        nbformat.v4.new_code_cell("from helpers.exercises.nb07 import check_cache_size"),
        nbformat.v4.new_markdown_cell(tool.render_solution("def cache_size(n_layer, n_tokens):\n    return 0")),
    ]


def test_a_new_notebook_in_todays_conventions_is_adopted(checkout):
    (checkout / "helpers" / "exercises" / "nb07.py").write_text(SOLUTION)
    path = new_notebook(checkout, "07_kv_cache.ipynb", todays_conventions())
    assert any(
        "07_kv_cache.ipynb: not clean" in p and "Fix: python tools/nb.py" in p for p in tool.run(checkout, check=True)
    )

    assert tool.run(checkout) == []
    notebook = nbformat.read(path, as_version=4)
    repo = tool.configured_repo(checkout)
    title, setup, _, solution = notebook.cells
    assert tool.TITLE_TAG in title.metadata.tags and title.source.startswith(tool.badge_markdown(repo, path.name))
    assert "# 07 · The KV cache\n\nWhy." in title.source
    assert tool.SETUP_TAG in setup.metadata.tags and setup.source == tool.setup_source(repo)
    assert tool.SOLUTION_TAG in solution.metadata.tags and "return 2 * n_layer * n_tokens" in solution.source
    assert "def cache_size(n_layer: int, n_tokens: int) -> int:" in solution.source
    assert "| 07 | The KV cache |" in (checkout / "notebooks" / "00_setup_and_data.ipynb").read_text()
    assert "[07 · The KV cache](notebooks/07_kv_cache.ipynb)" in (checkout / "README.md").read_text()
    assert tool.run(checkout, check=True) == []


def test_a_title_numbered_unlike_its_file_is_renumbered(checkout):
    (checkout / "helpers" / "exercises" / "nb07.py").write_text(SOLUTION)
    path = new_notebook(checkout, "07_kv_cache.ipynb", todays_conventions(number="08"))
    assert tool.run(checkout) == []
    assert "\n# 07 · The KV cache\n" in nbformat.read(path, as_version=4).cells[0].source


def test_check_changes_nothing(checkout):
    path = new_notebook(checkout, "07_kv_cache.ipynb", todays_conventions())
    before = {p: p.read_bytes() for p in [path, checkout / "README.md", *tool.notebook_paths(checkout)]}
    assert tool.run(checkout, check=True) != []
    assert {p: p.read_bytes() for p in before} == before


@pytest.mark.parametrize(
    "cells, problem",
    [
        ([nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell(OLD_SETUP)], "cell 0 must be the title"),
        (
            [nbformat.v4.new_markdown_cell("# 07 · Title"), nbformat.v4.new_code_cell("x = 1")],
            "cell 1 must be the setup cell; copy it from notebooks/00_setup_and_data.ipynb",
        ),
        ([nbformat.v4.new_markdown_cell("# 07 · Title")], "needs a title cell (0) and a setup cell (1)"),
        (
            todays_conventions(),  # its solution names a function helpers/exercises/nb07.py does not have
            "solution cell 3 shows `def cache_size(`, but helpers/exercises/nb07.py has no solution_cache_size",
        ),
    ],
    ids=["no title", "no setup cell", "one cell", "unknown solution"],
)
def test_what_it_cannot_fix_is_named_with_the_fix(checkout, cells, problem):
    new_notebook(checkout, "07_kv_cache.ipynb", cells)
    problems = tool.run(checkout)
    assert any(p.startswith("notebooks/07_kv_cache.ipynb: ") and problem in p for p in problems), problems


def test_two_notebooks_with_one_number_are_refused(checkout):
    new_notebook(checkout, "03_kv_cache.ipynb", todays_conventions(number="03"))
    assert "notebooks/: two notebooks are numbered 03: renumber one (file name and title)" in tool.run(checkout)


def test_readme_without_its_markers_is_named(checkout):
    readme = checkout / "README.md"
    readme.write_text(readme.read_text().replace("<!-- presets:start -->", ""))
    assert "README.md: the markers <!-- presets:start --> and <!-- presets:end --> are missing" in tool.run(checkout)


@pytest.mark.parametrize(
    "prose",
    [
        "It has 10.8M parameters.",
        "The laptop run takes 26.5 s on 2 cores.",
        "about 10,770,816 of them",
        "in 3 minutes",
        "about 1.1 million characters",  # a size in words of millions
        "It stacks 6 layers.",  # a model's shape
        "attention with 6 heads.",
        "a model 384 wide",
        "six heads of 64 channels",
        "a 1024-token tokenizer",
        "a context of 256 characters",  # a setting with its value (the amount pattern would match it too)
        "the workshop model (batch 64)",
        "For the reference model (`n_embd = 384`)",
        "it trains on the first 2,000 characters",  # an amount of data
        "whole generations of 500 tokens",
        "Each model writes 300 characters after the prompt",
        "at 8,000 samples per second",
        "We drop the lowest-scoring 30% of lines",  # a share
        "the same 6 × 384 model",  # a shape written out
        "a 16×32 picture",
        "4×4-pixel patches",
        "it reaches a val loss of 1.47",  # a result
        "perplexity ≈ 4.3 by then",
    ],
)
def test_figures_typed_into_prose_are_found(prose):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"Some text. {prose}")])
    assert len(tool.typed_figures(notebook)) == 1


def test_a_preset_shape_typed_out_is_found_figure_by_figure():
    prose = "The `workshop` preset: 6 layers, 6 heads, 384 wide, a\ncontext of 256 characters."
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(prose)])
    assert [f.split(": ", 1)[1] for f in tool.typed_figures(notebook)] == [
        "'6 layers'",
        "'6 heads'",
        "'384 wide'",
        "'context of 256 characters'",
    ]


def test_prose_without_such_figures_passes():
    prose = (
        "65 characters; GPT-2 has 50,257 tokens; ln(65) ≈ 4.17; a learning rate 10–20× lower; 2-D or more; 15 GiB; "
        "one head, several heads; (Zhang & Sennrich, 2019); Step 3: the same; notebook 05; 4 bytes each in fp32, "
        "16 bytes per parameter; for 367 × 4; widen 4×; the 256 byte values 0–255; standard deviation 0.02; "
        "the first 90% trains, the last 10% validates; the loss from about 4.17; `-log(1/65)`; T = 0.7; 12C² + 13C"
    )
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell(prose), nbformat.v4.new_code_cell("x = 10.8e6  # 10.8M")]
    )
    assert tool.typed_figures(notebook) == []


def test_the_corpus_figures_prose_may_state_are_read_from_the_code(monkeypatch):
    """The vocabulary and the split may be stated because they are checked against helpers: a change there
    turns the prose's figure into a finding."""
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("the 65 characters; the first 90% trains, the last 10% validates")]
    )
    assert tool.typed_figures(notebook) == []
    monkeypatch.setattr(tool, "CORPUS_VOCAB_SIZE", 66)
    assert tool.typed_figures(notebook) == ["cell 0: '65 characters'"]
    monkeypatch.setattr(tool, "train_val_split", lambda data, train_fraction=0.8: None)
    assert len(tool.typed_figures(notebook)) == 3


def test_repo_option_points_badges_setup_cells_and_readme_at_a_fork(checkout):
    assert tool.main(["--repo", "ada/gpt-fork", "--root", str(checkout)]) == 0
    assert tool.configured_repo(checkout) == "ada/gpt-fork"
    for path in tool.notebook_paths(checkout):
        title, setup = nbformat.read(path, as_version=4).cells[:2]
        assert title.source.startswith(tool.badge_markdown("ada/gpt-fork", path.name))
        assert 'REPO = "ada/gpt-fork"' in setup.source
    assert "colab.research.google.com/github/ada/gpt-fork/blob/main/notebooks/" in (checkout / "README.md").read_text()


@pytest.mark.parametrize("repo", ["not-a-repo", "a/b/c", "a b/c"])
def test_repo_option_refuses_what_is_not_owner_slash_name(checkout, repo):
    with pytest.raises(SystemExit, match="is not owner/name"):
        tool.main(["--repo", repo, "--root", str(checkout)])
    assert tool.configured_repo(checkout) != repo
