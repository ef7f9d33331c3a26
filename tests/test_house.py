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


@pytest.mark.parametrize("path", sources(), ids=lambda path: str(path.relative_to(REPO)))
def test_no_module_is_over_300_lines(path):
    assert len(path.read_text().splitlines()) <= 300, f"{path.relative_to(REPO)}: split it by what its parts do"


@pytest.mark.slow
def test_the_cli_and_the_name_tables_load_without_keras():
    """Argument errors come back at once: the CLI, the family registry and the engines' names do not
    import Keras (4-6 s); a family's space and baseline load it when asked."""
    import subprocess
    import sys

    code = ("import sys, tuning.cli, tuning.families, tuning.engines; "
            "print(sorted(m for m in ('keras', 'tensorflow', 'jax', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
