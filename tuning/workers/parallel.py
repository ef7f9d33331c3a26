"""W worker processes on one machine, one study: the parent starts `tune worker`s and reports."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from tuning.results.progress import Reporter
from tuning.study.lifecycle import attach
from tuning.study.storage import open_storage, resolve_url
from tuning.workers.loop import default_threads, tune_argv


def run_parallel(storage: str | None, name: str, target: int, workers: int, threads: int | None = None,
                 data_dir=None, timeout: int | None = None) -> None:
    """`workers` `tune worker` processes on study `name`, each with its share of the cores, until it
    holds `target` finished trials; this process reports."""
    threads = threads or default_threads(workers)
    command = [*tune_argv(), "worker", "--study", name, "--trials", str(target), "--threads", str(threads), "--quiet"]
    if data_dir:
        command += ["--data-dir", str(data_dir)]
    if timeout:
        command += ["--timeout", str(timeout)]
    env = {**os.environ, "TUNE_STORAGE": resolve_url(storage)}  # not argv: keeps passwords out of `ps`
    processes = [
        subprocess.Popen([*command, "--seed-offset", str(1000 * index)], env=env, stdout=subprocess.DEVNULL)
        for index in range(workers)
    ]
    study, _ = attach(open_storage(storage), name)
    reporter = Reporter(study, target)
    try:
        while any(worker.poll() is None for worker in processes):
            reporter.poll()
            time.sleep(2.0)
        reporter.poll()
    except KeyboardInterrupt:
        for worker in processes:
            worker.send_signal(signal.SIGINT)
        for worker in processes:
            worker.wait()
        raise
    finally:
        reporter.close()
    failed = [w.returncode for w in processes if w.returncode]
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(processes)} workers exited with an error (codes {failed})")
