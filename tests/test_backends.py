"""Devices and Keras backends: GPU pinning and precision as a CPU machine can check
them, and the same study, export and benchmark under JAX and PyTorch where they are installed (`.[jax]`, `.[torch]`)."""

import csv
import importlib.util

import optuna
import pytest

from tests.conftest import assert_one_line_error, copy_study, run_tune, snapshot
from tuning import backend
from tuning.errors import UserError
from tuning.workers.parallel import worker_env


def test_worker_i_sees_gpu_i_mod_their_number(monkeypatch):
    assert [worker_env({}, index, ["0", "1"])["CUDA_VISIBLE_DEVICES"] for index in range(5)] == ["0", "1", "0", "1", "0"]
    assert "CUDA_VISIBLE_DEVICES" not in worker_env({"X": "1"}, 3, [])
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    backend.prepare_process(1)  # a lone worker with two visible GPUs takes the second
    assert backend.os.environ["CUDA_VISIBLE_DEVICES"] == "3"
    backend.prepare_process(0, ["5", "7"])
    assert backend.os.environ["CUDA_VISIBLE_DEVICES"] == "5"
    assert backend.os.environ["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"  # workers share a GPU's memory


@pytest.mark.parametrize("text", ["", "a,b", "0;1", "-1"])
def test_a_bad_gpu_list_is_refused(text):
    with pytest.raises(UserError, match="--gpus"):
        backend.parse_gpus(text)


@pytest.mark.slow
def test_a_bad_backend_or_gpu_list_is_one_line(tmp_path, one_study):
    folder = copy_study(one_study, tmp_path / "copy")
    assert_one_line_error(run_tune("start", "--split", "mnist", "--model", "mlp", "--data-dir", "emnist", cwd=folder,
                                   env={"KERAS_BACKEND": "theano"}), "KERAS_BACKEND='theano'")
    assert run_tune("status", cwd=folder, env={"KERAS_BACKEND": "theano"}).returncode == 0  # it loads no backend
    assert_one_line_error(run_tune("start", "--split", "mnist", "--model", "mlp", "--gpus", "x", "--data-dir", "emnist",
                                   cwd=folder), "--gpus 'x'")


@pytest.mark.slow
def test_every_trial_and_benchmark_cell_runs_the_precision_asked_for(tmp_path, one_study):
    """keras.backend.clear_session() between trials resets Keras' dtype policy; every trial after the
    first, and every benchmark seed after the first, must still run (and record) mixed precision."""
    folder = copy_study(one_study, tmp_path / "copy")
    result = run_tune("start", "--split", "mnist", "--model", "mlp", "--trials", "4", "--max-epochs", "1",
                      "--precision", "mixed", "--data-dir", "emnist", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert "backend tensorflow, CPU" in result.stdout and "no GPU visible, running on the CPU" in result.stdout
    trials = optuna.load_study(study_name="emnist-mnist-mlp", storage=f"sqlite:///{folder}/studies/optuna.db").trials
    assert trials[0].user_attrs["precision"] == "float32"  # the study's first trial, made with the default
    assert [(t.user_attrs["backend"], t.user_attrs["precision"]) for t in trials[1:]] == \
        [("tensorflow", "mixed_bfloat16")] * 3
    bench = run_tune("benchmark", "--splits", "mnist", "--models", "mlp", "--seeds", "3", "--epochs", "1",
                     "--precision", "mixed", "--data-dir", "emnist", cwd=folder)
    assert bench.returncode == 0, bench.stderr
    with open(folder / "reports" / "benchmark.csv") as stream:
        assert [row["precision"] for row in csv.DictReader(stream)] == ["mixed_bfloat16"] * 3


def test_clearing_the_session_keeps_the_dtype_policy():
    import keras

    from tuning.trial.training import release_memory

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        release_memory()
        assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.slow
@pytest.mark.parametrize("env, args, fragment", [
    ({"KERAS_BACKEND": "torch"}, ["start", "--split", "mnist", "--model", "mlp"], "torch is not installed here"),
    ({"KERAS_BACKEND": "torch"}, ["export", "--all"], "torch is not installed here"),
    ({"KERAS_BACKEND": "torch"}, ["benchmark", "--splits", "mnist"], "torch is not installed here"),
    ({"KERAS_BACKEND": "torch"}, ["worker", "--study", "emnist-mnist-mlp"], "torch is not installed here"),
    ({}, ["start", "--split", "mnist", "--model", "mlp", "--gpus", "7"], "--gpus 7: this machine has"),
    ({"CUDA_VISIBLE_DEVICES": "0"}, ["start", "--split", "mnist", "--model", "mlp", "--gpus", "0,1"], "not GPU 1"),
    ({}, ["start", "--split", "mnist", "--model", "mlp", "--threads", "100000"], "--threads 100000"),
    ({}, ["worker", "--study", "emnist-mnist-mlp", "--threads", "100000"], "--threads 100000"),
])
def test_a_backend_device_or_thread_count_this_machine_lacks_is_one_line(tmp_path, one_study, env, args, fragment):
    if env.get("KERAS_BACKEND") == "torch" and importlib.util.find_spec("torch") is not None:
        pytest.skip("PyTorch is installed here")
    folder = copy_study(one_study, tmp_path / "copy")
    before = snapshot(folder)
    if args[0] in ("start", "benchmark"):
        args = [*args, "--data-dir", "emnist"]
    assert_one_line_error(run_tune(*args, cwd=folder, env=env), fragment)
    assert snapshot(folder) == before


@pytest.mark.slow
@pytest.mark.parametrize("backend", [
    pytest.param("jax", marks=pytest.mark.skipif(importlib.util.find_spec("jax") is None,
                                                 reason='JAX not installed: pip install -e ".[jax]"')),
    pytest.param("torch", marks=pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                                                   reason='PyTorch not installed: pip install -e ".[torch]"')),
])
def test_the_same_study_export_and_benchmark_run_under_another_backend(tmp_path, one_study, backend):
    folder = copy_study(one_study, tmp_path / "copy")  # a study tuned under TensorFlow
    env = {"KERAS_BACKEND": backend}
    result = run_tune("start", "--split", "mnist", "--model", "mlp", "--trials", "2", "--max-epochs", "1",
                      "--data-dir", "emnist", cwd=folder, env=env)
    assert result.returncode == 0, result.stderr
    assert f"backend {backend}" in result.stdout
    trials = optuna.load_study(study_name="emnist-mnist-mlp", storage=f"sqlite:///{folder}/studies/optuna.db").trials
    assert [t.user_attrs["backend"] for t in trials] == ["tensorflow", backend]
    assert run_tune("export", "--split", "mnist", "--model", "mlp", "--top", "1", cwd=folder, env=env).returncode == 0
    bench = run_tune("benchmark", "--splits", "mnist", "--models", "tuned,mlp", "--seeds", "1", "--epochs", "1",
                     "--data-dir", "emnist", cwd=folder, env=env)
    assert bench.returncode == 0, bench.stderr
    with open(folder / "reports" / "benchmark.csv") as stream:
        rows = list(csv.DictReader(stream))
    assert {row["model"] for row in rows} == {"tuned-mlp-final", "tuned-mlp-refit", "baseline-mlp"}  # the default schedules
    assert {row["backend"] for row in rows} == {backend} and all(float(row["test_accuracy"]) > 0.2 for row in rows)
