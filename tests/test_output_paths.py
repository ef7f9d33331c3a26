"""Where `tune` writes: an export or an image never replaces a study storage, data or any other
file, and a study name from a shared storage never becomes a path outside studies/best/."""

import json
import sqlite3

import optuna
import pytest

from tests.conftest import assert_one_line_error, copy_study, run_tune, snapshot

SOURCE = "emnist-mnist-mlp"  # the one study of the one_study fixture


def add_study(folder, name):
    """A copy of the fixture's study under `name`, as any client of the storage could make it."""
    storage = optuna.storages.RDBStorage(f"sqlite:///{folder / 'studies/optuna.db'}")
    optuna.copy_study(from_study_name=SOURCE, from_storage=storage, to_storage=storage, to_study_name=name)
    storage.engine.dispose()  # closed, as a client that has finished leaves the file


def study_names(folder):
    with sqlite3.connect(folder / "studies/optuna.db") as connection:
        return sorted(row[0] for row in connection.execute("SELECT study_name FROM studies"))


@pytest.mark.slow
@pytest.mark.parametrize("target", [
    "studies/optuna.db",  # the storage itself: every study in it would be gone
    "studies/optuna.db-wal",  # its journal (absent while nobody writes)
    "notes.json",  # JSON, but not an export
    "studies/link.json",  # a link to the storage
])
def test_export_never_replaces_a_file_that_is_not_an_export(tmp_path, one_study, target):
    folder = copy_study(one_study, tmp_path / "copy")
    (folder / "notes.json").write_text(json.dumps({"mine": [1, 2]}))
    (folder / "studies/link.json").symlink_to(folder / "studies/optuna.db")
    before = snapshot(folder)
    result = run_tune("export", "--split", "mnist", "--model", "mlp", "--out", target, cwd=folder)
    assert_one_line_error(result, f"--out {target}")
    assert snapshot(folder) == before
    assert study_names(folder) == [SOURCE]


@pytest.mark.slow
def test_export_replaces_a_previous_export_whole(tmp_path, one_study):
    folder = copy_study(one_study, tmp_path / "copy")
    first = run_tune("export", "--split", "mnist", "--model", "mlp", "--out", "best.json", "--top", "1", cwd=folder)
    assert first.returncode == 0, first.stderr
    document = json.loads((folder / "best.json").read_text())
    document["exported_at"] = "then"
    (folder / "best.json").write_text(json.dumps(document))
    again = run_tune("export", "--split", "mnist", "--model", "mlp", "--out", "best.json", cwd=folder)
    assert again.returncode == 0, again.stderr
    assert json.loads((folder / "best.json").read_text())["exported_at"] != "then"
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.slow
@pytest.mark.parametrize("other, fragment", [
    ("mnist-mlp", "would both be exported to studies/best/mnist-mlp.json"),  # two studies, one file
    ("../../escaped", "cannot be a file name"),
    ("/tmp/absolute-study", "cannot be a file name"),
    ("\x1b[31mred", "\\x1b[31mred"),  # escaped in the message, not sent to the terminal
])
def test_export_all_writes_nothing_when_a_name_would_clash_or_leave_studies_best(tmp_path, one_study, other, fragment):
    folder = copy_study(one_study, tmp_path / "copy")
    add_study(folder, other)
    before = snapshot(tmp_path)
    result = run_tune("export", "--all", cwd=folder)
    assert_one_line_error(result, fragment)
    assert "\x1b" not in result.stderr
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "escaped.json").exists() and not (folder.parent.parent / "escaped.json").exists()


@pytest.mark.slow
def test_export_all_writes_one_file_per_study(tmp_path, one_study):
    folder = copy_study(one_study, tmp_path / "copy")
    add_study(folder, "mnist-mlp-again")
    result = run_tune("export", "--all", cwd=folder)
    assert result.returncode == 0, result.stderr
    written = sorted(p.name for p in (folder / "studies/best").iterdir())
    assert written == ["mnist-mlp-again.json", "mnist-mlp.json"]
    assert {json.loads((folder / "studies/best" / name).read_text())["study"] for name in written} == {SOURCE, "mnist-mlp-again"}


@pytest.mark.slow
def test_status_escapes_what_the_storage_holds(tmp_path, one_study):
    folder = copy_study(one_study, tmp_path / "copy")
    add_study(folder, "evil\x1b]0;owned\x07\x1b[2J")
    result = run_tune("status", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "evil\\x1b]0;owned\\x07\\x1b[2J: 1 complete" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("grid, fragment", [
    ("x.db", "an image cannot be a .db file"),
    ("grid.txt", "an image cannot be a .txt file"),
    ("studies/optuna.db", "an image cannot be a .db file"),
])
def test_a_grid_is_written_only_as_an_image(tmp_path, one_study, grid, fragment):
    folder = copy_study(one_study, tmp_path / "copy")
    before = snapshot(folder)
    assert_one_line_error(run_tune("data", "info", "--split", "mnist", "--data-dir", "emnist", "--grid", grid, cwd=folder),
                          fragment)
    assert snapshot(folder) == before


@pytest.mark.slow
def test_a_grid_without_a_suffix_is_a_png_and_says_so(tmp_path, one_study):
    folder = copy_study(one_study, tmp_path / "copy")
    result = run_tune("data", "info", "--split", "mnist", "--data-dir", "emnist", "--grid", str(folder / "out/name"), cwd=folder)
    assert result.returncode == 0, result.stderr
    assert f"sample grid: {folder / 'out/name.png'}" in result.stdout
    assert (folder / "out/name.png").read_bytes()[:4] == b"\x89PNG"
