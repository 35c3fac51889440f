"""The project's own settings: the keys under `[tool.gpt-from-scratch]` in the checkout's pyproject.toml.

Today `github` (the owner/name that Colab badges and setup cells point at; tools/nb.py --repo changes it)
and `pretrained` (helpers.pretrained). Read and written with regular expressions, not tomllib, which
Python 3.10 lacks; only flat `key = "string"` lines are understood. Knows nothing of what the values mean.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .data import repo_root
from .errors import require

TABLE = re.compile(r"^\[tool\.gpt-from-scratch\][ \t]*$(.*?)(?=^\[|\Z)", re.M | re.S)


def _pyproject(pyproject: str | os.PathLike | None) -> Path:
    return Path(pyproject) if pyproject is not None else (repo_root() or Path.cwd()) / "pyproject.toml"


def _line(key: str) -> re.Pattern:
    return re.compile(rf'^({re.escape(key)}[ \t]*=[ \t]*)"([^"]*)"', re.M)


def project_setting(key: str, pyproject: str | os.PathLike | None = None) -> str | None:
    """The value of `key` under [tool.gpt-from-scratch], stripped; None if the file, table or key is missing."""
    path = _pyproject(pyproject)
    if not path.is_file():
        return None
    table = TABLE.search(path.read_text(encoding="utf-8"))
    value = _line(key).search(table.group(1)) if table else None
    return value.group(2).strip() if value else None


def set_project_setting(key: str, value: str, pyproject: str | os.PathLike | None = None) -> None:
    """Replace the value of an existing `key = "..."` line under [tool.gpt-from-scratch]."""
    path = _pyproject(pyproject)
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    table = TABLE.search(text)
    require(
        table is not None and _line(key).search(table.group(1)) is not None,
        f'{path} has no {key} = "..." under [tool.gpt-from-scratch]. Fix: add that line to the table.',
    )
    body = _line(key).sub(lambda m: f'{m.group(1)}"{value}"', table.group(1), count=1)
    path.write_text(text[: table.start(1)] + body + text[table.end(1) :], encoding="utf-8")
