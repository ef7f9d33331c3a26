"""Dashboard (in headless Chromium) and export, on a study made from synthetic data."""

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import optuna
import pytest

import models
from tests.conftest import ARTIFACTS, assert_one_line_error, run_tune, tune_command

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    from data_pipeline.synthetic import write_split

    folder = tmp_path_factory.mktemp("study")
    write_split(folder / "data", "mnist", train_per_class=12, test_per_class=4)
    result = run_tune("start", "--split", "mnist", "--model", "mlp", "--trials", "3", "--max-epochs", "2",
                      "--pruner", "none", "--data-dir", str(folder / "data"), cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(command: list[str], cwd: Path, port: int, env: dict | None = None) -> subprocess.Popen:
    """Start a dashboard-like server and wait until its /api/studies answers."""
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=2) as response:
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise AssertionError(f"server did not come up: {process.communicate()[1][-2000:]}")


def study_names(port: int) -> list[str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=5) as response:
        return [row["study_name"] for row in json.loads(response.read())["study_summaries"]]


@pytest.mark.slow
@pytest.mark.browser
def test_dashboard_shows_study_trials_and_learning_curves_in_chromium(study_dir):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    port = free_port()
    server = serve([*tune_command(), "dashboard", "--port", str(port)], study_dir, port)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
            )
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/dashboard/")
            page.get_by_text("emnist-mnist-mlp").first.wait_for(timeout=30_000)
            page.goto(f"http://127.0.0.1:{port}/dashboard/studies/1/trials")
            for number in range(3):
                page.get_by_text(f"Trial {number}", exact=True).first.wait_for(timeout=30_000)
            page.get_by_text("Trial 0: mlp (the original study's model)").wait_for(timeout=30_000)
            curves = page.locator("img").first
            curves.wait_for(timeout=30_000)
            page.wait_for_function("() => [...document.images].some(i => i.complete && i.naturalWidth > 300)", timeout=30_000)
            widths = page.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
            assert len(widths) >= 2 and min(widths) > 300  # learning curves and confusion matrix decoded
            curves.scroll_into_view_if_needed()
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "dashboard-trial.png"))
            print(f"screenshot: {ARTIFACTS / 'dashboard-trial.png'}")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
def test_dashboard_warns_when_listening_on_all_interfaces_and_serves(study_dir):
    port = free_port()
    process = serve([*tune_command(), "dashboard", "--host", "0.0.0.0", "--port", str(port)], study_dir, port)
    try:
        assert study_names(port) == ["emnist-mnist-mlp"]  # it serves the study, on every interface
        assert process.poll() is None
    finally:
        process.terminate()
    _, err = process.communicate(timeout=30)
    assert "warning: listening on 0.0.0.0" in err


@pytest.mark.slow
def test_optunas_own_tools_read_our_study(study_dir):
    optuna_cli = Path(sys.executable).with_name("optuna")
    result = subprocess.run([str(optuna_cli), "best-trial", "--study-name", "emnist-mnist-mlp",
                             "--storage", "sqlite:///studies/optuna.db", "-f", "json"],
                            cwd=study_dir, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    best = json.loads(result.stdout)
    study = optuna.load_study(study_name="emnist-mnist-mlp", storage=f"sqlite:///{study_dir}/studies/optuna.db")
    # the objective is named (set_metric_names), so Optuna's CLI prints the value under its name
    assert best["state"] == "COMPLETE" and (best["number"], best["value"]) == (study.best_trial.number,
                                                                               {"val_accuracy": study.best_value})
    port = free_port()
    server = serve([str(Path(sys.executable).with_name("optuna-dashboard")), "sqlite:///studies/optuna.db",
                    "--port", str(port)], study_dir, port)
    try:
        assert study_names(port) == ["emnist-mnist-mlp"]
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
def test_export_rebuilds_the_same_model_without_optuna(study_dir, tmp_path):
    out = tmp_path / "best.json"
    result = run_tune("export", "--split", "mnist", "--model", "mlp", "--top", "2", "--out", str(out), cwd=study_dir)
    assert result.returncode == 0, result.stderr
    document = json.loads(out.read_text())
    assert (document["study"], document["split"], document["model"]) == ("emnist-mnist-mlp", "mnist", "mlp")
    assert {"seed", "data_checksums", "exported_with", "exported_at"} <= set(document)
    values = [trial["val_accuracy"] for trial in document["trials"]]
    assert len(values) == 2 and values == sorted(values, reverse=True)
    status = json.loads(run_tune("status", "--json", cwd=study_dir).stdout)[0]
    assert values[0] == status["best_value"]
    best = document["trials"][0]
    assert best["params"] == status["best_params"]
    import optuna

    trial = optuna.load_study(study_name="emnist-mnist-mlp", storage=f"sqlite:///{study_dir}/studies/optuna.db").trials[best["number"]]
    rebuilt, trained = models.build(best["config"]), models.build(trial.user_attrs["config"])
    assert rebuilt.count_params() == trial.user_attrs["params_count"]  # what the trial counted when it trained
    assert [(type(layer).__name__, layer.output.shape) for layer in rebuilt.layers] == \
        [(type(layer).__name__, layer.output.shape) for layer in trained.layers]


@pytest.mark.slow
def test_export_default_path_and_all(study_dir):
    result = run_tune("export", "--all", cwd=study_dir)
    assert result.returncode == 0, result.stderr
    assert json.loads((study_dir / "studies" / "best" / "mnist-mlp.json").read_text())["model"] == "mlp"


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--split", "balanced"], "no study named 'emnist-balanced-cnn'"),
        (["--split", "mnist", "--model", "mlp", "--out", "/proc/forbidden/best.json"], "cannot write /proc/forbidden/best.json"),
        ([], "say which study"),
    ],
)
def test_export_errors_write_nothing(study_dir, args, fragment):
    def files():  # SQLite's own -wal/-shm come and go with whoever else has the study open (a dashboard)
        return sorted(p.name for p in (study_dir / "studies").rglob("*") if not p.name.endswith(("-wal", "-shm")))

    before = files()
    assert_one_line_error(run_tune("export", *args, cwd=study_dir), fragment)
    assert files() == before


@pytest.mark.slow
def test_export_of_a_study_without_complete_trials_is_refused(tmp_path, data_dir):
    import optuna

    (tmp_path / "studies").mkdir()
    storage = f"sqlite:///{tmp_path / 'studies' / 'optuna.db'}"
    study = optuna.create_study(study_name="emnist-mnist-cnn", storage=storage, direction="maximize")
    study.set_user_attr("split", "mnist")
    study.set_user_attr("model", "cnn")
    assert_one_line_error(run_tune("export", "--split", "mnist", cwd=tmp_path), "has no complete trial yet")
    assert not (tmp_path / "studies" / "best").exists()


@pytest.mark.slow
def test_foreign_study_is_named_not_crashed_on(tmp_path):
    import optuna

    (tmp_path / "studies").mkdir()
    study = optuna.create_study(study_name="emnist-mnist-cnn", storage=f"sqlite:///{tmp_path / 'studies' / 'optuna.db'}",
                                direction="maximize")
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=1)
    assert_one_line_error(run_tune("export", "--split", "mnist", cwd=tmp_path), "was not made by `tune start`")


@pytest.mark.slow
def test_start_completes_a_study_an_earlier_start_left_empty(tmp_path, data_dir):
    import optuna

    (tmp_path / "studies").mkdir()
    optuna.create_study(study_name="emnist-mnist-mlp", storage=f"sqlite:///{tmp_path / 'studies' / 'optuna.db'}")
    result = run_tune("start", "--split", "mnist", "--model", "mlp", "--trials", "1", "--max-epochs", "1",
                      "--data-dir", str(data_dir), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "[original study's model]" in result.stdout
