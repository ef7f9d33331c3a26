"""Shared fixtures: an isolated cache, synthetic EMNIST folders, and the `tune` CLI as a user runs it."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from data_pipeline.synthetic import write_split

REPO = Path(__file__).resolve().parents[1]
DEV_DATA = REPO.parent / "shared" / "emnist-dev"
OFFICIAL_DATA = REPO.parent / "shared" / "emnist"
ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own array cache, so no test sees another's (or the user's) files."""
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("EMNIST_CACHE_DIR", str(cache))
    monkeypatch.delenv("EMNIST_DATA_DIR", raising=False)
    monkeypatch.delenv("TUNE_STORAGE", raising=False)
    return cache


@pytest.fixture
def data_dir(tmp_path):
    """A folder holding small synthetic mnist, balanced and letters splits in the official format."""
    folder = tmp_path / "emnist"
    for name in ("mnist", "balanced", "letters"):
        write_split(folder, name, train_per_class=12, test_per_class=4)
    return folder


@pytest.fixture
def dev_data():
    if not (DEV_DATA / "emnist-balanced-train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"real EMNIST dev data not found at {DEV_DATA} (the shared/ folder beside the repo)")
    return DEV_DATA


def tune_command() -> list[str]:
    script = Path(sys.executable).with_name("tune")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tuning.cli"]


def run_tune(*args: str, cwd: Path | None = None, timeout: float = 240, env: dict | None = None):
    """Run `tune ARGS` in a subprocess, as a user would; returns the CompletedProcess."""
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    return subprocess.run(
        [*tune_command(), *args], cwd=cwd or REPO, capture_output=True, text=True, timeout=timeout, env=full_env
    )


def assert_one_line_error(result, *fragments: str) -> None:
    """Exit 2, no traceback, one line on stderr naming the problem."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def snapshot(folder):
    """Every file under `folder` with its sha256: what 'as they were' means."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def one_study(tmp_path_factory):
    """A folder with synthetic data and a one-trial study, made once per run; each test works on a copy (copy_study)."""
    folder = tmp_path_factory.mktemp("one-study")
    for name in ("mnist", "balanced", "letters"):
        write_split(folder / "emnist", name, train_per_class=12, test_per_class=4)
    created = run_tune("start", "--split", "mnist", "--model", "mlp", "--trials", "1", "--max-epochs", "1",
                       "--data-dir", str(folder / "emnist"), cwd=folder)
    assert created.returncode == 0, created.stderr
    return folder


def copy_study(one_study, folder):
    """`folder`: a copy of `one_study` (its data in emnist/, its study in studies/optuna.db)."""
    shutil.copytree(one_study, folder)
    return folder


from tests.storages import postgres_url, storage_url  # noqa: E402,F401  (shared fixtures)


def pytest_collection_modifyitems(items):
    """Tests that run real worker processes get 15 minutes instead of the default 5: on a loaded
    2-core machine four TensorFlow processes can take that long, and a timeout is no verdict."""
    for item in items:
        if item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.timeout(900))
