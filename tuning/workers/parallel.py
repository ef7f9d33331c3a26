"""W worker processes on one machine, one study: the parent starts `tune worker`s and reports."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass

from tuning.study.progress import Reporter
from tuning.study.rungs import ladder
from tuning.backend import default_threads, gpu_names
from tuning.workers.children import signal_of, spawn, stop
from tuning.workers.loop import tune_argv


def worker_env(env: dict, index: int, gpus: list[str]) -> dict:
    """Worker `index`'s environment: it sees GPU `index mod len(gpus)` only (all of `env` when no GPU)."""
    return {**env, "CUDA_VISIBLE_DEVICES": gpus[index % len(gpus)]} if gpus else dict(env)


@dataclass(frozen=True)
class WorkerPool:
    """The `tune worker` processes `tune start --workers N` runs on this machine."""

    workers: int
    threads: int | None = None  # CPU threads each; default: the cores shared among the workers
    gpus: tuple[str, ...] = ()  # worker i sees GPU i mod their number; default: every GPU this process sees
    precision: str = "float32"


def run_parallel(joined, target: int, pool: WorkerPool, timeout: int | None = None) -> None:
    """`pool.workers` `tune worker` processes on `joined`'s study (settings.JoinedStudy) until it
    holds `target` finished trials; this process reports. With GPUs the CPU threads are shared among
    the workers on each GPU; without, each worker gets its share of the cores."""
    gpus = list(pool.gpus) or [str(index) for index in range(len(gpu_names()))]
    threads = pool.threads or default_threads(pool.workers)
    workers = pool.workers
    command = [*tune_argv(), "worker", "--study", joined.study.study_name, "--trials", str(target), "--threads", str(threads),
               "--quiet", "--precision", pool.precision]
    if joined.data_dir:
        command += ["--data-dir", joined.data_dir]
    if timeout:
        command += ["--timeout", str(timeout)]
    env = {**os.environ, "TUNE_STORAGE": joined.storage_url}  # not argv: keeps passwords out of `ps`
    processes = [spawn([*command, "--seed-offset", str(1000 * index)], worker_env(env, index, gpus),
                       stdout=subprocess.DEVNULL) for index in range(workers)]
    reporter = Reporter(joined.study, target, rungs=ladder(joined.settings))
    try:
        while any(worker.poll() is None for worker in processes):
            reporter.poll()
            time.sleep(2.0)
        reporter.poll()
    except KeyboardInterrupt as interrupt:  # Ctrl-C or SIGTERM: every worker gets it once, and is waited for
        stop(processes, signal_of(interrupt))
        raise
    finally:
        reporter.close()
    failed = [w.returncode for w in processes if w.returncode]
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(processes)} workers exited with an error (codes {failed})")
