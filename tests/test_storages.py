"""Every study command on every storage, and many workers on one study."""

import json
import os
from collections import Counter

import optuna
import pytest
from optuna.trial import TrialState

from tests.storages import opened
from tests.conftest import assert_one_line_error, run_tune, tune_command


def start(storage, data_dir, cwd, *extra, trials):
    return run_tune("start", "--split", "mnist", "--model", "mlp", "--trials", str(trials), "--max-epochs", "2",
                    "--storage", storage, "--data-dir", str(data_dir), *extra, cwd=cwd)


def finished_numbers(storage, name="emnist-mnist-mlp"):
    trials = optuna.load_study(study_name=name, storage=opened(storage)).get_trials(deepcopy=False)
    numbers = [t.number for t in trials]
    assert len(numbers) == len(set(numbers)), "a trial number was given twice"
    assert not [t for t in trials if t.state == TrialState.RUNNING], "a trial was left RUNNING"
    return [t.number for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]


@pytest.mark.slow
def test_every_command_works_on_every_storage(storage_url, tmp_path, data_dir):
    assert start(storage_url, data_dir, tmp_path, trials=2).returncode == 0
    worker = run_tune("worker", "--study", "emnist-mnist-mlp", "--storage", storage_url, "--trials", "3",
                      "--data-dir", str(data_dir), cwd=tmp_path)
    assert worker.returncode == 0, worker.stderr
    assert worker.stdout.count("trial ") >= 1
    rows = json.loads(run_tune("status", "--json", "--storage", storage_url, cwd=tmp_path).stdout)
    assert rows[0]["complete"] + rows[0]["pruned"] == 3
    out = tmp_path / "best.json"
    assert run_tune("export", "--split", "mnist", "--model", "mlp", "--storage", storage_url, "--out", str(out),
                    cwd=tmp_path).returncode == 0
    assert json.loads(out.read_text())["trials"][0]["config"]["family"] == "mlp"
    assert len(finished_numbers(storage_url)) == 3


@pytest.mark.slow
def test_four_workers_reach_exactly_the_target_of_12_trials(storage_url, tmp_path, data_dir):
    """More workers than cores on one study: no trial number twice, none left RUNNING, exactly the
    target finished, and the trials really shared out (SQLite's one writer included)."""
    result = start(storage_url, data_dir, tmp_path, "--workers", "4", "--pruner", "none", trials=12)
    assert result.returncode == 0, result.stderr
    assert "database is locked" not in result.stderr
    assert len(finished_numbers(storage_url)) == 12
    trials = optuna.load_study(study_name="emnist-mnist-mlp", storage=opened(storage_url)).trials
    per_worker = Counter(t.user_attrs.get("worker") for t in trials)
    assert len(per_worker) >= 2 and None not in per_worker, per_worker


@pytest.mark.slow
def test_unreachable_database_is_one_line_and_hides_the_password(tmp_path, data_dir):
    result = start("postgresql+psycopg://tune:s3cret@127.0.0.1:1/nowhere", data_dir, tmp_path, trials=1)
    assert_one_line_error(result, "cannot reach storage postgresql+psycopg://tune:***@127.0.0.1:1/nowhere")
    assert "s3cret" not in result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.postgres
def test_password_never_reaches_output_or_files(postgres_url, tmp_path, data_dir):
    # trust auth ignores the password, so it can be any secret we then look for
    url = postgres_url.replace("postgres@", "postgres:pa55w0rd-xyz@")
    outputs = [start(url, data_dir, tmp_path, trials=1)]
    outputs.append(run_tune("status", "--storage", url, cwd=tmp_path))
    outputs.append(run_tune("export", "--split", "mnist", "--model", "mlp", "--storage", url, cwd=tmp_path))
    assert all(result.returncode == 0 for result in outputs), [r.stderr for r in outputs]
    assert not any("pa55w0rd-xyz" in r.stdout + r.stderr for r in outputs)
    assert "***" in outputs[0].stdout
    written = [p for p in tmp_path.rglob("*") if p.is_file() and "data" not in p.parts]
    assert written and not any(b"pa55w0rd-xyz" in p.read_bytes() for p in written)


def _ask_at(url, barrier, queue):
    from tuning.storage import open_storage

    study = optuna.load_study(study_name="claims", storage=open_storage(url))
    barrier.wait()
    queue.put([study.ask().number for _ in range(5)])


@pytest.mark.slow
def test_workers_popping_enqueued_trials_together_never_claim_one_twice(storage_url):
    """Optuna marks a WAITING trial RUNNING by read-then-write; SQLite ignores FOR UPDATE, so without
    BEGIN IMMEDIATE two workers ran the same enqueued trial (CI: "Cannot tell a COMPLETE trial")."""
    import multiprocessing

    from tuning.storage import open_storage

    study = optuna.create_study(study_name="claims", storage=open_storage(storage_url))
    for x in range(20):
        study.enqueue_trial({"x": x})
    context = multiprocessing.get_context("spawn")
    barrier, queue = context.Barrier(4), context.Queue()
    processes = [context.Process(target=_ask_at, args=(storage_url, barrier, queue)) for _ in range(4)]
    for process in processes:
        process.start()
    claimed = [number for _ in processes for number in queue.get(timeout=120)]
    for process in processes:
        process.join(timeout=60)
    assert sorted(claimed) == list(range(20)), "an enqueued trial was claimed by two workers"


def _open_storage_at(url, barrier):
    from tuning.storage import open_storage

    barrier.wait()
    open_storage(url)


@pytest.mark.slow
@pytest.mark.postgres
def test_workers_starting_together_on_an_empty_database_all_get_the_storage(postgres_url):
    """Optuna creates its tables on first open; processes racing to do so must not fail (pg_type dup key)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(6)
    processes = [context.Process(target=_open_storage_at, args=(postgres_url, barrier)) for _ in range(6)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [process.exitcode for process in processes] == [0] * 6


@pytest.mark.slow
def test_the_dashboard_shows_every_storage_and_another_machines_artifacts(storage_url, tmp_path, data_dir):
    """A worker on one "machine" (its own working folder) writes trial artifacts to the shared artifact
    store; `tune dashboard` on another, reading the same storage, lists the study and serves them."""
    import urllib.request

    from tests.test_dashboard_export import free_port, serve, study_names
    from optuna.artifacts import get_all_artifact_meta

    machine_a, machine_b, shared = tmp_path / "a", tmp_path / "b", tmp_path / "shared-artifacts"
    machine_a.mkdir(), machine_b.mkdir()
    env = {"TUNE_ARTIFACTS": str(shared)}
    result = run_tune("start", "--split", "mnist", "--model", "mlp", "--trials", "1", "--max-epochs", "1",
                      "--storage", storage_url, "--data-dir", str(data_dir), cwd=machine_a, env=env)
    assert result.returncode == 0, result.stderr
    storage = opened(storage_url)
    study = optuna.load_study(study_name="emnist-mnist-mlp", storage=storage)
    trial = study.trials[0]
    artifact_ids = [meta.artifact_id for meta in get_all_artifact_meta(trial, storage=storage)]
    assert artifact_ids and not (machine_a / "studies" / "artifacts").exists()
    port = free_port()
    dashboard = serve([*tune_command(), "dashboard", "--storage", storage_url, "--port", str(port)], machine_b, port,
                      env={**os.environ, **env})
    try:
        assert study_names(port) == ["emnist-mnist-mlp"]
        url = f"http://127.0.0.1:{port}/artifacts/{study._study_id}/{trial._trial_id}/{artifact_ids[0]}"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200 and len(response.read()) > 100
    finally:
        dashboard.terminate()
        dashboard.wait(timeout=30)


def test_a_killed_trial_holding_a_value_outside_its_space_is_retried_and_the_worker_goes_on(storage_url, monkeypatch):
    """Optuna keeps an enqueued value outside its distribution (with a warning), as the original model's
    64 filters in a space its split caps at 40. Its worker killed, the trial must be retried as it is: a
    retry that refused the value raised inside every later `optimize` and stopped each resuming worker."""
    import time
    import warnings

    from tuning.storage import open_storage

    monkeypatch.setenv("TUNE_HEARTBEAT_SECONDS", "1")
    monkeypatch.setenv("TUNE_GRACE_SECONDS", "1")
    storage = open_storage(storage_url)
    study = optuna.create_study(study_name="outside", storage=storage)
    study.enqueue_trial({"filters": 64, "rate": 0.5})

    def suggest(trial):
        return trial.suggest_int("filters", 16, 40, step=8) * trial.suggest_float("rate", 1e-4, 1e-2, log=True)

    with pytest.warns(UserWarning, match="out of range"):
        suggest(killed := study.ask())
    storage.record_heartbeat(killed._trial_id)  # its worker beat once, then died
    time.sleep(2.5)
    with warnings.catch_warnings():  # the retry's wider range differs from the one `suggest` asks for
        warnings.simplefilter("ignore", RuntimeWarning)
        study.optimize(suggest, n_trials=1)
    first, retry = study.get_trials(deepcopy=False)
    assert (first.state, retry.state) == (TrialState.FAIL, TrialState.COMPLETE)
    assert retry.params == {"filters": 64, "rate": 0.5} and retry.value == 32
    assert retry.system_attrs["failed_trial"] == first.number
