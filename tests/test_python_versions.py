"""Colab runs Python 3.13 and laptops anything from 3.10: every module and notebook cell must parse there.

Always: this interpreter parses every source and every notebook code cell with the 3.10 grammar
(`ast.parse(feature_version=...)`, which rejects newer syntax such as `except*` or PEP 695 generics).
Also, for each other Python found on this machine (tools/find_python.py: on PATH as python3.X, pyenv, uv, or
Windows' `py` launcher), that interpreter compiles every source. Torch is not installed for those, so this checks
syntax only; the full suite runs on the CI interpreter.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

from find_python import find_python  # noqa: E402

OLDEST = (3, 10)
COMPILE_ALL = "import sys\nfor f in sys.argv[1:]:\n    compile(open(f, encoding='utf-8').read(), f, 'exec')"


def python_sources() -> list[Path]:
    return sorted(p for d in ("helpers", "tools", "tests", "benchmarks") for p in (REPO / d).rglob("*.py"))


def notebook_code_cells() -> list[tuple[str, str]]:
    cells = []
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        for i, cell in enumerate(notebook["cells"]):
            if cell["cell_type"] == "code":
                source = "".join(cell["source"])
                # IPython-only lines (magics, shell escapes) are not Python: blank them out
                lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
                cells.append((f"{path.name} cell {i}", "\n".join(lines)))
    return cells


def test_sources_and_notebook_cells_parse_as_the_oldest_supported_python():
    sources = [(str(p.relative_to(REPO)), p.read_text(encoding="utf-8")) for p in python_sources()]
    failures = []
    for name, source in sources + notebook_code_cells():
        try:
            ast.parse(source, filename=name, feature_version=OLDEST)
        except SyntaxError as err:
            failures.append(f"{name}: line {err.lineno}: {err.msg}")
    assert failures == [], f"not Python {OLDEST[0]}.{OLDEST[1]} syntax:\n" + "\n".join(failures)


@pytest.mark.parametrize("version", ["3.10", "3.12", "3.13"])
def test_sources_compile_on(version):
    command = find_python(version)
    if command is None:
        pytest.skip(f"no Python {version} on this machine (the ast test above still checks the 3.10 grammar)")
    result = subprocess.run([*command, "-c", COMPILE_ALL, *map(str, python_sources())], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def fake_python(folder: Path, name: str, says: str, status: int = 0) -> None:
    exe = folder / name
    exe.write_text(f"#!/bin/sh\necho '{says}'\nexit {status}\n")
    exe.chmod(0o755)


@pytest.mark.skipif(sys.platform == "win32", reason="fake interpreters are shell scripts")
def test_a_python_on_path_must_run_and_be_that_version(tmp_path, monkeypatch):
    """A pyenv shim for an unselected version is on PATH and fails: CI must not take it for a Python."""
    broken, good = tmp_path / "broken", tmp_path / "good"
    broken.mkdir(), good.mkdir()
    fake_python(broken, "python3.99", "pyenv: python3.99: command not found", status=127)
    fake_python(good, "python3.99", "Python 3.99.1")
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    monkeypatch.setenv("PATH", f"{broken}{os.pathsep}/usr/bin{os.pathsep}/bin")
    assert find_python("3.99") is None
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "find_python.py"), "3.99"], capture_output=True, text=True
    )
    assert result.returncode == 1 and "No Python 3.99" in result.stderr and "Fix: install it" in result.stderr
    monkeypatch.setenv("PATH", f"{broken}{os.pathsep}{good}{os.pathsep}/usr/bin{os.pathsep}/bin")
    assert find_python("3.99") == [str(good / "python3.99")]
