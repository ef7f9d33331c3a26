"""How many workers one study holds: N workers on one study, through PostgreSQL directly and through
the gRPC proxy (`tune storage serve`), with random workers killed (SIGKILL) midway.

    python benchmarks/scale_out.py [--workers 8,32,64] [--paths direct,proxy] [--postgres URL] [--out FILE]

Each worker runs the real worker loop (tuning.workers.loop.run_trials: claims, target, heartbeats,
stale-trial retries) on a storage opened as `tune` opens it; only the model is left out: a trial
samples 4 params, reports 3 times over --trial-seconds and sets its attributes. A worker is a plain
Python process (no TensorFlow), so 64 of them fit in memory. Once a third of the target has
finished, --kill of the workers are killed with SIGKILL while they run a trial; the survivors must
finish the study. Reports, per (N, path): trials/hour, each storage call's latency (median, p99,
from every surviving worker), the most PostgreSQL connections the study's database held, and
what was lost: trials lost (failed by a kill and never retried), duplicated (more finished than
the target, or a failed trial retried twice), left RUNNING; and the workers that crashed (e.g.
PostgreSQL refusing connections past max_connections). A trial "not run" (a worker that found the
study full when it started one) is counted apart: it never trained. Heartbeats 2 s, grace 10 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.contract import Parser, choice_list, count, fail, guarded, postgres_admin, seconds  # noqa: E402
from tuning.options import fraction  # noqa: E402


def count_list(text: str) -> list[int]:
    """Worker counts, e.g. 8,32,64: each 1..1000."""
    return [count(1000)(part) for part in text.split(",")]


HEARTBEAT = {"TUNE_HEARTBEAT_SECONDS": "2", "TUNE_GRACE_SECONDS": "10"}
STUDY = "scale-out"


def timed(storage, calls: dict[str, list[float]]):
    """`storage` with every call's duration (ms) appended to calls[name]."""
    from optuna.storages import BaseStorage

    # the calls that reach the storage (BaseStorage's abstract ones), not the local helpers built on them
    for name in [*sorted(BaseStorage.__abstractmethods__), "record_heartbeat"]:
        method = getattr(storage, name, None)
        if method is None:
            continue

        def call(*args, _method=method, _name=name, **kwargs):
            start = time.perf_counter()
            try:
                return _method(*args, **kwargs)
            finally:
                calls.setdefault(_name, []).append((time.perf_counter() - start) * 1000)

        setattr(storage, name, call)
    return storage


def run_worker(args) -> None:
    """One worker: the real loop on a storage opened as `tune worker` opens it, its calls timed."""
    import optuna

    from tuning.storage import open_storage
    from tuning.workers.loop import run_trials

    calls: dict[str, list[float]] = {}
    storage = timed(open_storage(args.storage, create=False), calls)
    study = optuna.load_study(study_name=STUDY, storage=storage, pruner=optuna.pruners.NopPruner(),
                              sampler=optuna.samplers.RandomSampler(seed=os.getpid()))

    def objective(trial):
        value = sum(trial.suggest_float(f"x{i}", 0, 1) for i in range(4))
        for step in range(1, 4):
            time.sleep(args.trial_seconds / 3)
            trial.report(value * step / 3, step)
        trial.set_user_attr("worker", os.getpid())
        return value

    run_trials(study, objective, args.target)
    Path(args.stats).write_text(json.dumps(calls))


def connections(admin, database: str) -> int:
    return admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (database,)).fetchone()[0]


def one_run(workers: int, path: str, args, admin, folder: Path) -> dict:
    import optuna
    from optuna.trial import TrialState

    from tuning.storage import close_storage, open_storage

    database = f"tune_scale_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE DATABASE "{database}"')
    direct = args.postgres.rsplit("/", 1)[0] + f"/{database}"
    env = {**os.environ, **HEARTBEAT}
    server = None
    try:
        setup = open_storage(direct)
        optuna.create_study(study_name=STUDY, storage=setup, direction="maximize")
        close_storage(setup)
        url = direct
        if path == "proxy":
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            server = subprocess.Popen([sys.executable, "-m", "tuning.cli", "storage", "serve", "--storage", direct,
                                      "--port", str(port)], env=env, stdout=subprocess.PIPE, text=True)
            server.stdout.readline()
            url = f"grpc://127.0.0.1:{port}"
        target = workers * args.trials_per_worker
        stats = [folder / f"{path}-{workers}-{i}.json" for i in range(workers)]
        started = time.perf_counter()
        processes = [subprocess.Popen([sys.executable, __file__, "worker", "--storage", url, "--target", str(target),
                                       "--trial-seconds", str(args.trial_seconds), "--stats", str(stat)], env=env)
                     for stat in stats]
        reader = open_storage(direct, create=False, writes=False)
        study = optuna.load_study(study_name=STUDY, storage=reader)
        most, killed = 0, []
        while any(p.poll() is None for p in processes):
            most = max(most, connections(admin, database))
            trials = study.get_trials(deepcopy=False)
            finished = sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
            if not killed and finished >= target / 3:
                busy = sum(t.state == TrialState.RUNNING for t in trials)
                victims = [p for p in processes if p.poll() is None]
                random.Random(workers).shuffle(victims)
                killed = victims[:max(1, round(workers * args.kill))]
                for victim in killed:
                    victim.send_signal(signal.SIGKILL)
                print(f"  {path} N={workers}: killed {len(killed)} workers at {finished}/{target} finished "
                      f"({busy} trials running)", flush=True)
            if time.perf_counter() - started > args.timeout:
                for process in processes:
                    process.kill()
                break
            time.sleep(0.5)
        wall = time.perf_counter() - started
        trials = study.get_trials(deepcopy=False)
        close_storage(reader)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    failed = [t for t in trials if t.state == TrialState.FAIL]
    retried = [t.system_attrs["failed_trial"] for t in trials if "failed_trial" in t.system_attrs]
    latencies = [ms for stat in stats if stat.exists() for values in json.loads(stat.read_text()).values() for ms in values]
    return {
        "workers": workers, "path": path, "target": target, "finished": len(finished),
        "killed": len(killed), "wall_s": round(wall, 1), "trials_per_hour": round(len(finished) / wall * 3600),
        "call_ms_median": round(statistics.median(latencies), 2) if latencies else None,
        "call_ms_p99": round(statistics.quantiles(latencies, n=100)[98], 2) if len(latencies) > 100 else None,
        "calls": len(latencies), "pg_connections_max": most,
        "workers_crashed": sum(p.returncode not in (0, None) for p in processes if p not in killed),
        "not_run": sum(t.user_attrs.get("fail_reason", "").startswith("not run:") for t in failed),
        "lost": sum(t.number not in retried for t in failed if not t.user_attrs.get("fail_reason", "").startswith("not run:")),
        "duplicated": max(0, len(finished) - target)
        + sum(retried.count(number) > 1 for number in set(retried)),
        "left_running": sum(t.state == TrialState.RUNNING for t in trials),
    }


def main() -> None:
    parser = Parser(prog="scale_out.py", description=__doc__.splitlines()[0])
    parser.add_argument("role", nargs="?", default="run", choices=("run", "worker"))
    parser.add_argument("--workers", type=count_list, default=[8, 32, 64], help="worker counts, e.g. 8,32,64")
    parser.add_argument("--paths", type=choice_list(("direct", "proxy")), default=["direct", "proxy"],
                        help="direct (PostgreSQL), proxy (gRPC), or both")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--trials-per-worker", type=count(1000), default=4)
    parser.add_argument("--trial-seconds", type=seconds(3600), default=3.0)
    parser.add_argument("--kill", type=fraction, default=0.25, help="share of the workers killed midway")
    parser.add_argument("--timeout", type=count(86_400), default=600, help="seconds a run may take")
    parser.add_argument("--out", help="write the table as JSON here too")
    parser.add_argument("--storage", help=argparse.SUPPRESS)
    parser.add_argument("--target", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--stats", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "worker":
        return run_worker(args)
    counts, paths = args.workers, args.paths
    if args.trial_seconds <= 0:
        fail(f"--trial-seconds {args.trial_seconds}: give a positive number of seconds")
    admin = postgres_admin(args.postgres)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for workers in counts:
            for path in paths:
                rows.append(one_run(workers, path, args, admin, Path(folder)))
                print(json.dumps(rows[-1]), flush=True)
    print("\n| workers | path | finished/target | killed | trials/hour | call ms median | p99 | PG connections | "
          "lost | duplicated | left RUNNING | workers crashed |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['workers']} | {row['path']} | {row['finished']}/{row['target']} | {row['killed']} | "
              f"{row['trials_per_hour']} | {row['call_ms_median']} | {row['call_ms_p99']} | {row['pg_connections_max']} | "
              f"{row['lost']} | {row['duplicated']} | {row['left_running']} | {row['workers_crashed']} |")
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    guarded(main)
