"""The house rules README's Layout states, checked on the source: every package is a real package
(a wheel ships it), other packages are imported through their __init__ only, and no import runs
from models or data_pipeline back up into tuning."""

import ast

import pytest

from tests.conftest import REPO

PACKAGES = ("data_pipeline", "models", "tuning")


def sources():
    return [path for package in PACKAGES for path in (REPO / package).rglob("*.py")]


def imports(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def test_every_folder_of_code_is_a_package_a_wheel_would_ship():
    folders = {path.parent for path in sources()}
    assert [str(folder.relative_to(REPO)) for folder in sorted(folders) if not (folder / "__init__.py").exists()] == []


@pytest.mark.parametrize("path", sources(), ids=lambda path: str(path.relative_to(REPO)))
def test_other_packages_are_imported_through_their_init_only(path):
    own = path.relative_to(REPO).parts[0]
    crossing = [name for name in imports(path) if name.split(".")[0] in PACKAGES and name.split(".")[0] != own
                and "." in name]
    assert crossing == [], f"{path.relative_to(REPO)} reaches into {crossing}; import from the package itself"
    if own != "tuning":
        assert not [name for name in imports(path) if name.split(".")[0] == "tuning"]
    if own == "data_pipeline":
        assert not [name for name in imports(path) if name.split(".")[0] == "models"]
