"""[tool.gpt-from-scratch] in pyproject.toml: read and changed one key at a time, leaving the rest as it was."""

import pytest

from helpers import WorkshopError
from helpers.settings import project_setting, set_project_setting

PYPROJECT = """[project]
name = "gpt-from-scratch"
github = "not/this-one"

[tool.gpt-from-scratch]
github = "gpt-from-scratch/gpt-from-scratch"
# a comment between the keys
pretrained = ""

[tool.ruff]
line-length = 120
"""


@pytest.fixture
def pyproject(tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_text(PYPROJECT)
    return path


def test_keys_are_read_from_the_projects_own_table(pyproject):
    assert project_setting("github", pyproject) == "gpt-from-scratch/gpt-from-scratch"
    assert project_setting("pretrained", pyproject) == ""
    assert project_setting("line-length", pyproject) is None  # another table's key
    assert project_setting("github", pyproject.parent / "absent.toml") is None


def test_setting_a_key_changes_that_line_only(pyproject):
    set_project_setting("github", "ada/fork", pyproject)
    assert project_setting("github", pyproject) == "ada/fork"
    assert pyproject.read_text() == PYPROJECT.replace(
        'github = "gpt-from-scratch/gpt-from-scratch"', 'github = "ada/fork"'
    )


@pytest.mark.parametrize("key", ["gitlab", "name"])
def test_setting_a_key_the_table_lacks_names_the_fix(pyproject, key):
    with pytest.raises(WorkshopError, match=rf'has no {key} = "\.\.\." under \[tool\.gpt-from-scratch\]\. Fix: add'):
        set_project_setting(key, "x", pyproject)
    assert pyproject.read_text() == PYPROJECT
