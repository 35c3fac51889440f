"""Colab runs Python 3.13 and laptops anything from 3.10: every module and notebook cell must parse there.

Always: this interpreter parses every source and every notebook code cell with the 3.10 grammar
(`ast.parse(feature_version=...)`, which rejects newer syntax such as `except*` or PEP 695 generics).
Also, for each other Python found on this machine (on PATH as python3.X, pyenv, uv, or Windows' `py`
launcher), that interpreter compiles every source. Torch is not installed for those, so this checks
syntax only; the full suite runs on the CI interpreter.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
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


def candidates(version: str) -> list[list[str]]:
    """Ways this machine may offer Python `version`, as command prefixes."""
    found = [[exe] for exe in (shutil.which(f"python{version}"),) if exe]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    found += [[str(exe)] for exe in sorted(pyenv_root.glob(f"versions/{version}.*/bin/python"))]
    if shutil.which("uv"):
        uv = subprocess.run(["uv", "python", "find", version], capture_output=True, text=True)
        found += [[uv.stdout.strip()]] if uv.returncode == 0 and uv.stdout.strip() else []
    if shutil.which("py"):  # the Windows launcher
        found.append(["py", f"-{version}"])
    return found


def find_python(version: str) -> list[str] | None:
    for command in candidates(version):
        probe = subprocess.run([*command, "--version"], capture_output=True, text=True)
        if probe.returncode == 0 and probe.stdout.startswith(f"Python {version}."):
            return command
    return None


@pytest.mark.parametrize("version", ["3.10", "3.12", "3.13"])
def test_sources_compile_on(version):
    command = find_python(version)
    if command is None:
        pytest.skip(f"no Python {version} on this machine (the ast test above still checks the 3.10 grammar)")
    result = subprocess.run([*command, "-c", COMPILE_ALL, *map(str, python_sources())], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
