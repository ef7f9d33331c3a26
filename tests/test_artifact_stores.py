"""The artifact store TUNE_ARTIFACTS names: an S3 bucket (against an S3 server moto starts on
127.0.0.1 for the test), reached by a worker on one "machine" and the dashboard on another."""

import os
import urllib.request

import optuna
import pytest

from tests.conftest import assert_one_line_error, copy_study, run_tune, snapshot, tune_command
from tests.storages import free_port

BUCKET = "tune-artifacts"


@pytest.fixture
def s3_env():
    """An S3 server on 127.0.0.1 with one bucket; the environment a worker needs to reach it."""
    moto_server = pytest.importorskip("moto.server", reason="moto is not installed (pip install -e '.[test]')")
    import boto3

    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "TUNE_ARTIFACTS": f"s3://{BUCKET}"}
    boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1", aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_bucket(Bucket=BUCKET)
    try:
        yield env
    finally:
        server.stop()


@pytest.mark.slow
def test_a_workers_artifacts_in_s3_reach_the_dashboard_on_another_machine(s3_env, tmp_path, data_dir):
    from optuna.artifacts import get_all_artifact_meta

    from tests.test_dashboard_export import serve, study_names
    from tuning.storage import open_storage

    machine_a, machine_b = tmp_path / "a", tmp_path / "b"
    machine_a.mkdir(), machine_b.mkdir()
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    result = run_tune("start", "--split", "mnist", "--model", "mlp", "--trials", "1", "--max-epochs", "1",
                      "--storage", storage, "--data-dir", str(data_dir), cwd=machine_a, env=s3_env)
    assert result.returncode == 0, result.stderr
    assert not (machine_a / "studies" / "artifacts").exists()  # nothing went to a local folder
    opened = open_storage(storage, create=False, writes=False)
    study = optuna.load_study(study_name="emnist-mnist-mlp", storage=opened)
    trial = study.trials[0]
    artifacts = get_all_artifact_meta(trial, storage=opened)
    assert {meta.filename for meta in artifacts} >= {"trial-0-learning-curves.png", "trial-0-model-summary.txt"}
    port = free_port()
    dashboard = serve([*tune_command(), "dashboard", "--storage", storage, "--port", str(port)], machine_b, port,
                      env={**os.environ, **s3_env})
    try:
        assert study_names(port) == ["emnist-mnist-mlp"]
        png = next(meta for meta in artifacts if meta.filename.endswith(".png"))
        url = f"http://127.0.0.1:{port}/artifacts/{study._study_id}/{trial._trial_id}/{png.artifact_id}"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.read(8) == b"\x89PNG\r\n\x1a\n"
    finally:
        dashboard.terminate()
        dashboard.wait(timeout=30)


@pytest.mark.slow
def test_an_artifact_bucket_that_is_missing_unreachable_or_refuses_is_one_line_before_any_work(s3_env, tmp_path, one_study,
                                                                                                    monkeypatch):
    folder = copy_study(one_study, tmp_path / "copy")
    before = snapshot(folder)
    start = ["start", "--split", "mnist", "--model", "mlp", "--trials", "2", "--data-dir", "emnist"]
    cases = [
        ({"TUNE_ARTIFACTS": "s3://no-such-bucket"}, start, "artifact bucket s3://no-such-bucket does not exist"),
        ({"TUNE_ARTIFACTS": "s3://tune-artifacts/folder"}, start, "is a bucket, s3://BUCKET"),
        ({"AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}, start, "cannot reach artifact bucket s3://tune-artifacts"),
        ({"TUNE_ARTIFACTS": "s3://no-such-bucket"}, ["dashboard", "--port", str(free_port())], "does not exist"),
    ]
    for change, args, fragment in cases:
        assert_one_line_error(run_tune(*args, cwd=folder, env={**s3_env, **change}, timeout=120), fragment)
        assert snapshot(folder) == before, args
    import moto.settings

    monkeypatch.setattr(moto.settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)  # the server now checks credentials
    assert_one_line_error(run_tune(*start, cwd=folder, env=s3_env, timeout=120),
                          "artifact bucket s3://tune-artifacts refuses these credentials")
    assert snapshot(folder) == before
