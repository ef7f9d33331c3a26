"""docker-compose.yml: valid for docker-compose, and every command its containers run works here
as a plain process against the real PostgreSQL (no Docker engine runs on this machine)."""

import os
import shutil
import subprocess

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from tests.conftest import REPO, tune_command
from tests.test_dashboard_export import free_port, serve, study_names

pytestmark = pytest.mark.skipif(shutil.which("docker-compose") is None,
                                reason="Debian's docker-compose is not installed (apt-get install -y docker-compose)")


def render(env_file, *profiles) -> dict:
    flags = [flag for profile in profiles for flag in ("--profile", profile)]
    result = subprocess.run(["docker-compose", "--env-file", str(env_file), *flags, "config"], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


@pytest.mark.slow
def test_compose_file_is_valid_with_the_example_env():
    result = subprocess.run(["docker-compose", "--env-file", ".env.example", "config", "-q"], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    services = render(REPO / ".env.example")["services"]
    assert set(services) == {"postgres", "dashboard", "worker", "gpu-worker", "storage-proxy", "proxy-worker"}
    assert services["gpu-worker"]["profiles"] == ["gpu"]  # `docker compose up` leaves it out
    assert services["storage-proxy"]["profiles"] == services["proxy-worker"]["profiles"] == ["proxy"]
    assert "ports" not in services["storage-proxy"]  # reached on the compose network only
    assert services["postgres"]["healthcheck"]["test"]
    (port,) = services["dashboard"]["ports"]
    host_ip = port["host_ip"] if isinstance(port, dict) else port.split(":")[0]  # long or short syntax
    assert host_ip == "127.0.0.1"  # the dashboard is never published beyond the host
    assert "deploy" not in services["worker"] and "container_name" not in services["worker"]  # so it can scale
    assert 'ENTRYPOINT ["tune"]' in (REPO / "Dockerfile").read_text()
    gpu = render(REPO / ".env.example", "gpu")["services"]["gpu-worker"]  # only with --profile gpu
    (device,) = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
    assert gpu["build"]["args"]["EXTRAS"] == "[gpu]" and "--workers" in gpu["command"]


@pytest.mark.postgres
@pytest.mark.slow
def test_container_commands_run_as_plain_processes(postgres_url, tmp_path, data_dir):
    database = postgres_url.rsplit("/", 1)[1]
    env_file = tmp_path / "test.env"
    env_file.write_text(f"POSTGRES_USER=postgres\nPOSTGRES_PASSWORD=unused\nPOSTGRES_DB={database}\n"
                        f"EMNIST_DIR={data_dir}\nSPLIT=mnist\nMODEL=mlp\nTRIALS=4\nMAX_EPOCHS=1\nTHREADS=1\n"
                        "GPU_WORKERS=1\nPRECISION=mixed\n")
    services = render(env_file, "gpu", "proxy")["services"]
    storage = services["worker"]["environment"]["TUNE_STORAGE"].replace("@postgres:5432", "@127.0.0.1:5432")
    env = {"TUNE_STORAGE": storage, "EMNIST_DATA_DIR": str(data_dir), "TUNE_ARTIFACTS": str(tmp_path / "artifacts"),
           "EMNIST_CACHE_DIR": str(tmp_path / "cache"), "TF_CPP_MIN_LOG_LEVEL": "3"}
    full_env = {**os.environ, **env}
    # the storage proxy in front of the database; then a CPU worker, the GPU container's command (here
    # without a GPU: it says so and runs on the CPU) and a worker through the proxy, all on one study
    proxy_port = free_port()
    proxy_command = [*tune_command(), *services["storage-proxy"]["command"]]
    proxy_command[proxy_command.index("--port") + 1] = str(proxy_port)
    proxy = subprocess.Popen(proxy_command, cwd=tmp_path, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert f":{proxy_port}" in proxy.stdout.readline()
    proxy_env = {**full_env, "TUNE_STORAGE": services["proxy-worker"]["environment"]["TUNE_STORAGE"]
                 .replace("storage-proxy:13000", f"127.0.0.1:{proxy_port}")}
    try:
        workers = [subprocess.Popen([*tune_command(), *services[name]["command"]], cwd=tmp_path, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                   for name, env in (("worker", full_env), ("gpu-worker", full_env), ("proxy-worker", proxy_env))]
        for worker in workers:
            _, err = worker.communicate(timeout=400)
            assert worker.returncode == 0, err
    finally:
        proxy.terminate()
        proxy.wait(timeout=30)
    study = optuna.load_study(study_name="emnist-mnist-mlp", storage=storage)
    states = [t.state for t in study.trials]
    assert states.count(TrialState.COMPLETE) + states.count(TrialState.PRUNED) == 4
    assert {t.user_attrs.get("precision") for t in study.trials if t.state != TrialState.FAIL} <= {"float32", "mixed_bfloat16"}
    # (which worker ran how many trials depends on who imported TensorFlow first: not asserted)

    port = free_port()
    command = [*tune_command(), *services["dashboard"]["command"]]
    command[command.index("--port") + 1] = str(port)
    dashboard = serve(command, tmp_path, port, env=full_env)
    try:
        assert study_names(port) == ["emnist-mnist-mlp"]
    finally:
        dashboard.terminate()
        dashboard.wait(timeout=30)
