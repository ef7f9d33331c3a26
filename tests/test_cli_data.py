import json

import pytest

from data_pipeline.splits import SPLITS
from tests.conftest import ARTIFACTS, OFFICIAL_DATA, assert_one_line_error, run_tune


@pytest.mark.slow
def test_info_json_and_grid(data_dir, tmp_path):
    grid = tmp_path / "grid.png"
    result = run_tune("data", "info", "--split", "letters", "--data-dir", str(data_dir), "--json", "--grid", str(grid))
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert (info["split"], info["classes"]) == ("letters", 26)
    assert info["train"] + info["val"] == 26 * 12 and info["test"] == 26 * 4
    assert grid.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_info_on_real_balanced(dev_data):
    ARTIFACTS.mkdir(exist_ok=True)
    result = run_tune("data", "info", "--split", "balanced", "--data-dir", str(dev_data), "--json", "--grid", str(ARTIFACTS / "balanced-grid.png"))
    info = json.loads(result.stdout)
    assert info["classes"] == 47 and info["train"] + info["val"] == 16121 and info["test"] == 2679


@pytest.mark.slow
def test_verify_official_folder():
    if not OFFICIAL_DATA.exists():
        pytest.skip(f"official EMNIST files not found at {OFFICIAL_DATA}")
    result = run_tune("data", "verify", "--data-dir", str(OFFICIAL_DATA), "--json")
    assert result.returncode == 0, result.stderr
    statuses = {row["file"]: row["status"] for row in json.loads(result.stdout)["files"]}
    present = {p.name for p in OFFICIAL_DATA.iterdir() if p.name.startswith("emnist-")}
    assert {statuses[name] for name in present} == {"official"}
    assert {status for name, status in statuses.items() if name not in present} == {"missing"}


@pytest.mark.slow
def test_verify_tells_corrupt_from_modified(data_dir):
    name = SPLITS["mnist"].file_name("train-images")
    (data_dir / name).write_bytes((data_dir / name).read_bytes()[:100])
    result = run_tune("data", "verify", "--data-dir", str(data_dir), "--json")
    statuses = {row["file"]: row["status"] for row in json.loads(result.stdout)["files"]}
    assert statuses[name] == "corrupt" and result.returncode == 1
    assert statuses[SPLITS["mnist"].file_name("test-images")] == "modified"


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, fragment",
    [
        (["data", "info", "--split", "nope"], "unknown split 'nope'"),
        (["data", "info", "--split", "mnist", "--data-dir", "/no/such/dir"], "does not exist"),
        (["data", "info", "--split", "mnist", "--data-dir", "pyproject.toml"], "is a file"),
        (["data", "frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_exit_2(args, fragment):
    assert_one_line_error(run_tune(*args), fragment)


@pytest.mark.slow
def test_truncated_file_is_one_line(data_dir):
    name = SPLITS["mnist"].file_name("train-images")
    (data_dir / name).write_bytes((data_dir / name).read_bytes()[:300])
    assert_one_line_error(run_tune("data", "info", "--split", "mnist", "--data-dir", str(data_dir)), name, "truncated")
