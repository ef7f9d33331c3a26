"""Bad input beyond `tune start`'s table (tests/test_crash.py): credentials in every form,
read commands that must not write, the schema race on a fresh SQLite file, dashboard addresses."""

import hashlib
import json
import multiprocessing
import os
import socket
import subprocess
import sqlite3
import sys

import optuna
import pytest

from tests.conftest import REPO, assert_one_line_error, copy_study, run_tune, snapshot
from tuning.storage import mask, scrub

SECRET_URLS = [
    ("postgresql+psycopg://tune:hunter2@db:5432/x", "hunter2"),
    ("postgresql+psycopg://tune:hun@ter2@db:5432/x", "hun@ter2"),  # a raw '@' inside the password
    ("postgresql+psycopg://tune:hu:nt/er2@db/x", "hu:nt/er2"),
    ("postgresql+psycopg://tune@db/x?password=hunter2", "hunter2"),
    ("postgresql+psycopg://db/x?sslmode=require&password=hunter2&connect_timeout=3", "hunter2"),
    ("postgresql+psycopg://db/x?sslpassword=hunter2", "hunter2"),
    ("postgresql://:hunter2@db/x", "hunter2"),
]


@pytest.mark.parametrize("url, secret", SECRET_URLS)
def test_every_credential_form_is_masked(url, secret):
    assert secret not in mask(url) and "***" in mask(url)
    assert secret not in scrub(f"could not connect with {url}: password {secret} refused", [url])


@pytest.mark.slow
@pytest.mark.parametrize("url, secret", [
    ("postgresql+psycopg://tune:hunter2@127.0.0.1:1/x", "hunter2"),
    ("postgresql+psycopg://tune:hun@ter2@127.0.0.1:1/x", "hun@ter2"),
    ("postgresql+psycopg://tune@127.0.0.1:1/x?password=hunter2", "hunter2"),
    ("postgresql+psycopg://tune:hunter2@127.0.0.1:1:5432/x", "hunter2"),  # unparsable: still no password
])
def test_no_command_prints_a_password(tmp_path, url, secret):
    for args in (["status"], ["start", "--split", "mnist", "--trials", "1"]):
        result = run_tune(*args, "--storage", url, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert secret not in result.stdout + result.stderr


def file_bytes(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
@pytest.mark.parametrize("command", [["status"], ["export", "--all"], ["worker", "--study", "x"]])
def test_read_commands_refuse_a_foreign_sqlite_file_and_leave_it_as_it_was(tmp_path, command):
    foreign = tmp_path / "notes.db"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
    before = file_bytes(foreign)
    result = run_tune(*command, "--storage", f"sqlite:///{foreign}", cwd=tmp_path)
    assert_one_line_error(result, "not an Optuna study storage")
    assert file_bytes(foreign) == before


@pytest.mark.slow
def test_status_reads_a_study_file_without_changing_a_byte(tmp_path, one_study):
    folder = copy_study(one_study, tmp_path / "copy")
    with sqlite3.connect(folder / "studies/optuna.db") as connection:  # as a user might leave it: rollback journal
        connection.execute("PRAGMA journal_mode=DELETE")
    before = file_bytes(folder / "studies/optuna.db")
    assert run_tune("status", cwd=folder).returncode == 0
    assert file_bytes(folder / "studies/optuna.db") == before


@pytest.mark.slow
@pytest.mark.parametrize("journal", ["WAL", "DELETE"])
def test_read_commands_read_a_read_only_study_file(tmp_path, one_study, journal):
    """A study file (and its folder) that nobody may write, e.g. a finished study shared read-only:
    status and export answer from it. Root ignores file modes, so the test makes both immutable."""
    folder = copy_study(one_study, tmp_path / "copy")
    database = folder / "studies/optuna.db"
    with sqlite3.connect(database) as connection:
        connection.execute(f"PRAGMA journal_mode={journal}")
    before = file_bytes(database)
    frozen = [str(database), str(database.parent)]
    if subprocess.run(["chattr", "+i", *frozen], capture_output=True).returncode != 0:
        pytest.skip("cannot make files immutable here (chattr +i needs root on ext4-like filesystems)")
    try:
        status = run_tune("status", cwd=folder)
        exported = run_tune("export", "--split", "mnist", "--model", "mlp", "--out", str(tmp_path / "best.json"), cwd=folder)
    finally:
        subprocess.run(["chattr", "-i", *frozen], check=True)
    assert status.returncode == 0 and "emnist-mnist-mlp: 1 complete" in status.stdout, status.stderr
    assert exported.returncode == 0, exported.stderr
    assert json.loads((tmp_path / "best.json").read_text())["trials"][0]["config"]["family"] == "mlp"
    assert file_bytes(database) == before


def _open_at(url, barrier, create):
    from tuning.storage import open_storage

    barrier.wait()
    try:
        open_storage(url, create=create)
    except Exception as exc:  # noqa: BLE001  (the test wants to see any)
        if create or "not an Optuna study storage" not in str(exc) and "no study storage" not in str(exc):
            raise


@pytest.mark.parametrize("round_", range(6))
def test_starters_racing_on_one_fresh_sqlite_file_all_get_the_storage(tmp_path, round_):
    """Three `tune start`s (and a `tune status`) opening one new SQLite file at the same instant:
    before, one in three failed with 'table ... already exists'."""
    url = f"sqlite:///{tmp_path}/fresh.db"
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(4)
    processes = [context.Process(target=_open_at, args=(url, barrier, create)) for create in (True, True, True, False)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [process.exitcode for process in processes] == [0] * 4


@pytest.mark.slow
def test_dashboard_addresses_are_checked_before_it_starts(tmp_path, one_study):
    folder = copy_study(one_study, tmp_path / "copy")
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        for args, fragment in ((["--port", "70000"], "out of range"), (["--host", "no-such-host.invalid"], "does not resolve"),
                               (["--port", str(port)], "cannot listen on 127.0.0.1")):
            assert_one_line_error(run_tune("dashboard", *args, cwd=folder, timeout=60), fragment)
    finally:
        busy.close()


@pytest.mark.slow
@pytest.mark.parametrize("args, fragment", [
    (["benchmark", "--splits", "mnist", "--models", "mlp", "--out", "a-file/reports"], "a-file is a file, not a folder"),
    (["data", "info", "--split", "mnist", "--grid", "a-file/grid.png"], "a-file is a file, not a folder"),
    (["data", "info", "--split", "mnist", "--grid", "studies"], "--grid studies is a folder"),
    (["data", "download", "--splits", "mnist", "--data-dir", "a-file/emnist"], "a-file is a file, not a folder"),
    (["export", "--split", "mnist", "--model", "mlp", "--out", "a-file/best.json"], "cannot write a-file/best.json"),
])
def test_an_output_path_that_cannot_be_written_is_one_line_before_any_work(tmp_path, one_study, args, fragment):
    folder = copy_study(one_study, tmp_path / "copy")
    (folder / "a-file").write_text("x")
    if args[0] in ("benchmark", "data") and "--data-dir" not in args:
        args = [*args, "--data-dir", "emnist"]
    before = snapshot(folder)
    assert_one_line_error(run_tune(*args, cwd=folder), fragment)
    assert snapshot(folder) == before


@pytest.mark.slow
@pytest.mark.parametrize("argv", [
    ["start", "--split", "nope"],
    ["start", "--split", "mnist", "--study", "no spaces"],
    ["start", "--split", "mnist", "--model", "mlp", "--weights", "none"],
    ["start", "--split", "mnist", "--data-dir", "no-such-folder"],
    ["start", "--split", "mnist", "--storage", "sqlite://"],
    ["worker", "--study", "emnist-mnist-cnn", "--storage", "sqlite:///no-such.db"],
])
def test_bad_start_and_worker_input_is_answered_before_keras_loads(argv, tmp_path):
    """Keras with TensorFlow takes ~6 s to import: commands/preflight.py answers first, in about a second."""
    code = "import sys; from tuning.cli import main; rc = main(sys.argv[1:]); print('keras' in sys.modules); sys.exit(rc)"
    result = subprocess.run([sys.executable, "-c", code, *argv], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stdout.strip() == "False", "Keras was imported before the bad input was found"


def damaged(database):
    """Valid header, garbage pages: what a disk or a half-copied file leaves."""
    with open(database, "r+b") as stream:
        stream.seek(4096 * 2)
        stream.write(bytes(range(256)) * 64)


def truncated(database):
    with open(database, "r+b") as stream:
        stream.truncate(database.stat().st_size // 2)


@pytest.mark.slow
@pytest.mark.parametrize("spoil", [damaged, truncated])
@pytest.mark.parametrize("command", [["status"], ["export", "--all"], ["worker", "--study", "emnist-mnist-mlp"],
                                     ["start", "--split", "mnist", "--model", "mlp", "--data-dir", "emnist"]])
def test_a_damaged_study_file_is_one_line_and_left_as_it_was(tmp_path, one_study, spoil, command):
    folder = copy_study(one_study, tmp_path / "copy")
    spoil(folder / "studies/optuna.db")
    before = snapshot(folder)
    assert_one_line_error(run_tune(*command, cwd=folder), "is not a sound SQLite file")
    assert snapshot(folder) == before  # no -wal or -shm file left beside it either


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("command", [["status"], ["export", "--all"], ["worker", "--study", "emnist-mnist-cnn"]])
def test_reads_on_an_empty_postgres_database_create_nothing(postgres_url, tmp_path, command):
    import psycopg

    result = run_tune(*command, "--storage", postgres_url, cwd=tmp_path)
    assert_one_line_error(result, "no study storage in", "holds no Optuna tables")
    with psycopg.connect(postgres_url.replace("+psycopg", "")) as connection:
        tables = connection.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0]
        types = connection.execute("SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                                   "WHERE n.nspname = 'public' AND t.typtype = 'e'").fetchone()[0]
    assert (tables, types) == (0, 0)


@pytest.mark.slow
def test_a_worker_never_adds_optuna_trials_to_a_kerastuner_study(tmp_path, one_study):
    folder = copy_study(one_study, tmp_path / "copy")
    storage = optuna.storages.RDBStorage(f"sqlite:///{folder / 'studies/optuna.db'}")
    optuna.copy_study(from_study_name="emnist-mnist-mlp", from_storage=storage, to_storage=storage,
                      to_study_name="emnist-mnist-mlp-kerastuner")
    study = optuna.load_study(study_name="emnist-mnist-mlp-kerastuner", storage=storage)
    study.set_user_attr("engine", "kerastuner")
    study.set_user_attr("sampler", "kerastuner-hyperband")
    storage.engine.dispose()
    before = snapshot(folder)
    result = run_tune("worker", "--study", "emnist-mnist-mlp-kerastuner", "--trials", "5", "--data-dir", "emnist", cwd=folder)
    assert_one_line_error(result, "is run by kerastuner", "tune start --engine kerastuner")
    assert snapshot(folder) == before


@pytest.mark.slow
def test_the_storage_ladders_bad_input_is_one_line_and_changes_nothing(tmp_path, one_study):
    """Every step of the ladder (tuning.storage.backends): a journal file that cannot be written,
    is missing, a folder or damaged; a proxy that is not running or badly named; a storage server
    whose port is taken or that would serve a proxy; an unknown scheme."""
    folder = copy_study(one_study, tmp_path / "copy")
    (folder / "a-file").write_text("x")
    (folder / "damaged.log").write_text('{"op_code": 0, "worker_id": "w", "study_name": "s", "directions": [1]}\nnot json\n')
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    taken = busy.getsockname()[1]
    start = ["start", "--split", "mnist", "--model", "mlp", "--trials", "1", "--data-dir", "emnist", "--storage"]
    cases = [
        ([*start, "journal:///a-file/journal.log"], "cannot write journal storage a-file/journal.log"),
        ([*start, "journal:///damaged.log"], "damaged.log is not a sound Optuna journal file (line 2"),
        (["status", "--storage", "journal:///damaged.log"], "not a sound Optuna journal file"),
        (["status", "--storage", "journal:///missing.log"], "no study storage at missing.log"),
        (["export", "--all", "--storage", "journal:///studies"], "journal storage studies is not a file"),
        (["status", "--storage", "journal:///"], "names no file"),
        (["status", "--storage", f"grpc://127.0.0.1:{taken + 1 if taken < 65535 else taken - 1}"], "no storage server answers"),
        (["status", "--storage", "grpc://127.0.0.1"], "names no server"),
        ([*start, "grpc://127.0.0.1:99999"], "names no server"),
        (["storage", "serve", "--port", str(taken)], "cannot listen on 127.0.0.1"),
        (["storage", "serve", "--storage", "grpc://127.0.0.1:13000"], "is itself a proxy"),
        (["storage", "serve", "--storage", "journal:///damaged.log", "--port", "70000"], "out of range"),
        ([*start, "redis://127.0.0.1/0"], "has scheme 'redis'"),
    ]
    before = snapshot(folder)
    try:
        for args, fragment in cases:
            assert_one_line_error(run_tune(*args, cwd=folder, timeout=90), fragment)
            assert snapshot(folder) == before, args
    finally:
        busy.close()


@pytest.mark.slow
@pytest.mark.parametrize("script, args, fragment", [
    ("tuner_comparison.py", ["--seeds", "0,x"], "--seeds: 'x' is not a whole number"),
    ("tuner_comparison.py", ["--seeds", "1,1"], "give 1..100 distinct seeds"),
    ("tuner_comparison.py", ["--engines", "optuna,nope"], "'nope': give distinct names from optuna"),
    ("tuner_comparison.py", ["--budget", "0"], "--budget: 0 is out of range; give 1..86400"),
    ("tuner_comparison.py", ["--budget", "6000000"], "--budget: 6000000 is out of range"),
    ("tuner_comparison.py", ["--max-epochs", "1e3"], "--max-epochs: '1e3' is not a whole number; give 1..1000"),
    ("tuner_comparison.py", ["--seeds", ",".join(map(str, range(101)))], "give 1..100 distinct seeds"),
    ("tuner_comparison.py", ["--split", "nope"], "unknown split 'nope'"),
    ("tuner_comparison.py", ["--data-dir", "missing"], "data dir missing does not exist"),
    ("tuner_comparison.py", [], "results.json is not a whole results file of this script"),
    ("study_summary.py", ["--storage", "sqlite:///missing.db"], "no study storage at missing.db"),
    ("study_summary.py", ["--storage", "sqlite:///studies/optuna.db", "--study", "nope"], "no study named 'nope'"),
    ("study_summary.py", ["--storage", "sqlite:///studies/optuna.db", "--bar", "2"], "--bar: 2.0 is not in (0, 1]"),
    ("scale_out.py", ["--workers", "8,0"], "--workers: 0 is out of range; give 1..1000"),
    ("scale_out.py", ["--workers", "8,5000"], "--workers: 5000 is out of range"),
    ("scale_out.py", ["--trial-seconds", "-1"], "--trial-seconds: -1 is out of range; give seconds in (0, 3600]"),
    ("scale_out.py", ["--trial-seconds", "nan"], "--trial-seconds: nan is out of range"),
    ("scale_out.py", ["--timeout", "0"], "--timeout: 0 is out of range"),
    ("scale_out.py", ["--paths", "direct,sideways"], "'sideways': give distinct names from direct, proxy"),
    ("scale_out.py", ["--postgres", "postgresql+psycopg://postgres@127.0.0.1:1/postgres"], "cannot reach PostgreSQL"),
    ("backends.py", ["--images", "0"], "--images: 0 is out of range; give 1..200000"),
    ("backends.py", ["--backends", "tensorflow,mxnet"], "'mxnet': give distinct names from tensorflow, jax, torch"),
    ("backends.py", ["--config", "studies/best/damaged.json", "--split", "mnist", "--data-dir", "emnist"], "not a JSON export"),
    ("baselines.py", ["--models", "cnn,rnn"], "'rnn': give distinct names from cnn, mlp, vgg16"),
    ("baselines.py", ["--seed", "-1"], "--seed: -1 is not a seed"),
    ("baselines.py", ["--data-dir", "nowhere"], "data dir nowhere does not exist"),
    ("byclass_errors.py", ["--config", "nope.json"], "--config: nope.json: no such file"),
    ("byclass_errors.py", ["--config", "studies/best/damaged.json"], "not a JSON export"),
    ("data_load.py", ["--repeats", "0"], "--repeats: 0 is out of range; give 1..100"),
    ("data_load.py", ["--split", "mnist", "--data-dir", "nowhere"], "data dir nowhere does not exist"),
    ("data_path.py", ["--models", "cnn-huge"], "'cnn-huge': give distinct names from cnn-small, cnn-big, mlp"),
    ("data_path.py", ["--epochs", "1000000"], "--epochs: 1000000 is out of range"),
    ("full_scale_memory.py", ["--model", "rnn"], "unknown model family 'rnn'"),
    ("full_scale_memory.py", ["--folder", "studies/optuna.db"], "--folder studies/optuna.db"),
    ("parallelism.py", ["--trials", "1"], "--trials: 1 is out of range; give 2..1000"),
    ("parallelism.py", ["--split", "nope"], "unknown split 'nope'"),
    ("storage_overhead.py", ["--postgres", "postgresql+psycopg://postgres@127.0.0.1:1/postgres"], "cannot reach PostgreSQL"),
    ("storage_overhead.py", ["--rounds", "x"], "--rounds: 'x' is not a whole number"),
    ("study_memory.py", ["--storage", "sqlite:///studies/optuna.db", "--study", "nope"], "no study named 'nope'"),
    ("study_memory.py", ["--storage", "sqlite:///missing.db"], "no study storage at missing.db"),
    ("throughput.py", ["--repeats", "101"], "--repeats: 101 is out of range"),
    ("vgg16_cache.py", ["--fine-tune-blocks", "6"], "--fine-tune-blocks: 6 is out of range; give 0..5"),
    ("vgg16_cache.py", ["--weights", "studies"], "--weights: studies: a folder"),
    ("vgg16_cache.py", ["--split", "mnist", "--data-dir", "nowhere"], "data dir nowhere does not exist"),
])
def test_the_benchmark_scripts_keep_tunes_contract(tmp_path, one_study, script, args, fragment):
    """A user runs benchmarks/ too: one line, exit 2, before any work, every file as it was (a damaged
    results file kept, not replaced)."""
    from tests.conftest import REPO

    folder = copy_study(one_study, tmp_path / "copy")
    out = folder / "race"
    out.mkdir()
    if not args:
        (out / "results.json").write_text('{"split": "balanced", "budget": 6')  # cut short
    (folder / "studies" / "best").mkdir(parents=True, exist_ok=True)
    (folder / "studies" / "best" / "damaged.json").write_text('{"study": "emnist-mnist-cnn", "trials": [')
    if script == "tuner_comparison.py" and "--data-dir" not in args:
        args = [*args, "--data-dir", "emnist"]
    before = snapshot(folder)
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / script), *args, "--out", str(out)]
                            if script == "tuner_comparison.py" else [sys.executable, str(REPO / "benchmarks" / script), *args],
                            cwd=folder, capture_output=True, text=True, timeout=120)
    assert_one_line_error(result, fragment)
    assert snapshot(folder) == before


def spoiled_export(document: dict, case: str) -> dict:
    """A shipped export (studies/best/mnist-mlp.json) damaged as a hand edit or a foreign tool would."""
    first = document["trials"][0]
    edits = {
        "unknown split": lambda: document.update(split="mnistt"),
        "unknown family": lambda: document.update(model="rnn"),
        "family not the export's": lambda: document.update(model="cnn"),
        "final_config unknown key": lambda: first.update(final_config={**first["config"], "unitz": [8]}),
        "final_config other classes": lambda: first.update(final_config={**first["config"], "num_classes": 47}),
        "accuracy not a number": lambda: first.update(val_accuracy="high"),
        "accuracy above 1": lambda: first.update(val_accuracy=97.5),
        "negative trial number": lambda: first.update(number=-4),
        "params not an object": lambda: first.update(params=[1, 2]),
        "trial not an object": lambda: document["trials"].append("x"),
        "ensemble member of another family": lambda: first.update(config={
            "family": "ensemble", "num_classes": 10,
            "members": [first["config"], registered_baseline("cnn")]}),
    }
    edits[case]()
    return document


def registered_baseline(family: str) -> dict:
    from tuning.families import registered

    return registered(family).baseline("mnist", 10)


SHIPPED_MNIST_MLP = json.loads((REPO / "studies/best/mnist-mlp.json").read_text())
EXPORT_PROBLEMS = {
    "unknown split": "split 'mnistt' is not one of",
    "unknown family": "model 'rnn' is not a family",
    "family not the export's": "its config is mlp, but the export is of cnn",
    "final_config unknown key": "final_config: mlp config: unknown key 'unitz'",
    "final_config other classes": "its final_config has num_classes 47, but mnist has 10",
    "accuracy not a number": "'val_accuracy' 'high' is not an accuracy",
    "accuracy above 1": "'val_accuracy' 97.5 is not an accuracy",
    "negative trial number": "'number' is not a trial number",
    "params not an object": "'params' is not an object",
    "trial not an object": f"trial entry {len(SHIPPED_MNIST_MLP['trials'])} is not an object",
    "ensemble member of another family": "its config is cnn/mlp, but the export is of mlp",
}


@pytest.mark.slow
@pytest.mark.parametrize("case", EXPORT_PROBLEMS)
def test_an_export_read_back_is_checked_whole_by_warm_start_and_benchmark(tmp_path, data_dir, case):
    """Class 1: an export file (single, ensemble, final_config) hand-edited or foreign is named in one
    line before anything runs, by every command that reads one back; nothing is written."""
    bad = tmp_path / "mnist-mlp.json"
    bad.write_text(json.dumps(spoiled_export(json.loads(json.dumps(SHIPPED_MNIST_MLP)), case)))
    before = snapshot(tmp_path)
    for command in (["start", "--split", "mnist", "--model", "mlp", "--trials", "1", "--warm-start", str(bad),
                     "--data-dir", str(data_dir)],
                    ["benchmark", "--splits", "mnist", "--models", "tuned", "--from", str(bad), "--out", "reports",
                     "--data-dir", str(data_dir)]):
        assert_one_line_error(run_tune(*command, cwd=tmp_path), str(bad), EXPORT_PROBLEMS[case], "run `tune export` again")
        assert snapshot(tmp_path) == before, command


@pytest.mark.slow
def test_two_exports_racing_for_one_file_leave_one_whole_export_and_no_stray_file(tmp_path, one_study):
    """Class 5: `tune export --out F` run twice at once (two shells, a script and a user): both
    succeed, F is one whole export (the later one), and no temporary file is left beside it."""
    from tests.conftest import tune_command
    from tuning.export import read_export

    folder = copy_study(one_study, tmp_path / "copy")
    target = folder / "studies" / "best" / "raced.json"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    for round_ in range(3):
        racers = [subprocess.Popen([*tune_command(), "export", "--split", "mnist", "--model", "mlp", "--out", str(target)],
                                   cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                  for _ in range(2)]
        results = [(racer.wait(timeout=120), racer.stderr.read()) for racer in racers]
        assert all(code == 0 for code, _ in results), results
        assert read_export(target)["study"] == "emnist-mnist-mlp"
        assert sorted(path.name for path in target.parent.iterdir()) == ["raced.json"], round_
