"""The worker loop: run trials until the study holds N, recycle the process, honour deadlines and signals."""

from __future__ import annotations

import os
import sys
import time

import optuna
from optuna.trial import TrialState

from tuning.backend import set_threads
from tuning.errors import NotRun, UserError, env_int
from tuning.study.progress import Reporter, counts
from tuning.trial.artifacts import artifact_store


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so Optuna records the running trial before we exit (143)."""


def raise_terminated(signum, frame):
    raise Terminated()


#: TensorFlow keeps ~10 MB per trained model that clear_session() does not free (tensorflow#61791),
#: so a worker process runs at most TUNE_TRIALS_PER_PROCESS trials, then execs itself afresh (same pid, same
#: command, which resumes). Bounds memory like gunicorn's max_requests.
def trials_per_process() -> int:
    return env_int("TUNE_TRIALS_PER_PROCESS", 8)


def deadline_from(timeout) -> float | None:
    """A --timeout as an absolute time, kept in the environment so a recycled process keeps it."""
    if "TUNE_DEADLINE" not in os.environ and timeout:
        os.environ["TUNE_DEADLINE"] = str(time.time() + timeout)
    return float(os.environ["TUNE_DEADLINE"]) if "TUNE_DEADLINE" in os.environ else None


def tune_argv() -> list[str]:
    """How to run this same `tune` again in a child process."""
    return [sys.executable, "-m", "tuning.cli"]


def recycle_process() -> None:
    """Replace this process by a fresh run of the same `tune` command (it resumes the study)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.environ["TUNE_RECYCLED"] = str(int(os.environ.get("TUNE_RECYCLED") or 0) + 1)  # trials record it
    os.execv(sys.executable, [*tune_argv(), *sys.argv[1:]])


#: this many trials in a row of one process failing with the same reason stop it: the next would too
REPEATED_FAILURES = 3


class FinishedElsewhere(Exception):
    """The trial this worker ran was finished by another process meanwhile."""


def study_is_full(trial: optuna.Trial, target: int | None) -> bool:
    """True when trials numbered before this one already finish or run the study's `target`.

    Workers check the count before they start a trial, but two may pass that check together;
    this catches the loser, so a study ends with exactly `target` finished trials.
    """
    if not target:
        return False
    busy = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
    earlier = [t for t in trial.study.get_trials(deepcopy=False, states=busy) if t.number < trial.number]
    return len(earlier) >= target


def still_ours(objective, target: int | None = None):
    """`objective`, run only while the study wants the trial (not past `target`, NotRun), and raising
    FinishedElsewhere instead of returning a value for a trial that is no longer RUNNING (Optuna 5
    asserts, rather than refusing cleanly, when told a value for one)."""

    def run(trial: optuna.Trial):
        if study_is_full(trial, target):
            trial.set_user_attr("fail_reason", f"not run: the study already had its {target} trials when this one started")
            raise NotRun()
        value = objective(trial)
        running = trial.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        if trial.number not in {t.number for t in running}:
            raise FinishedElsewhere(f"trial {trial.number} was finished by another process while it ran here")
        return value

    return run


def run_trials(study: optuna.Study, objective, target: int, deadline: float | None = None, on_trial_end=None,
               limit: int | None = None) -> bool:
    """Run trials until the study holds `target` finished (complete or pruned) trials, the wall
    clock passes `deadline` (time.time()), or this call has run `limit` trials. True when done.

    While the remaining trials are all running elsewhere, wait: one of them may fail (a killed
    worker's trial is failed after the heartbeat grace period and retried), and then it is ours.
    Failed trials do not count, so a failure that repeats (a bad weights file, a config the machine
    cannot build) would loop forever: REPEATED_FAILURES alike in a row stop the run instead.
    """
    failures: list[str] = []

    def note_failure(study, trial) -> None:
        reason = trial.user_attrs.get("fail_reason")
        if trial.state == TrialState.FAIL and reason and not reason.startswith("not run:"):
            failures.append(reason)
        elif trial.state != TrialState.FAIL:
            failures.clear()

    callbacks = [note_failure] + ([on_trial_end] if on_trial_end else [])
    ran = 0
    while True:
        tally = counts(study)
        if tally["finished"] >= target or (deadline and time.time() >= deadline):
            return True
        if limit is not None and ran >= limit:
            return False
        if tally["finished"] + tally["running"] >= target and tally["waiting"] == 0:
            optuna.storages.fail_stale_trials(study)
            time.sleep(1.0)
            continue
        try:
            study.optimize(still_ours(objective, target), n_trials=1, catch=(Exception,), callbacks=callbacks, gc_after_trial=False)
        except ValueError as exc:
            # Optuna refuses to record a trial another process already finished (its heartbeat lapsed
            # while this machine stalled, and it was failed and retried): that result is lost, the
            # study is whole, so go on with the next trial instead of stopping the worker
            if not str(exc).startswith("Cannot tell a"):
                raise
            print(f"a trial was finished elsewhere while this worker ran it ({exc}); going on", file=sys.stderr, flush=True)
        ran += 1
        if len(failures) >= REPEATED_FAILURES and len(set(failures[-REPEATED_FAILURES:])) == 1:
            raise UserError(f"stopped: the last {REPEATED_FAILURES} trials all failed with {failures[-1]!r}; "
                            "fix that, then run the same command again to resume")


def work(joined, target: int, timeout=None, threads=None, quiet=False, seed_offset=0) -> None:
    """Run trials of `joined` (settings.JoinedStudy) in this process until it holds `target` finished.
    Each process seeds its sampler apart (the study's seed, its worker offset, the trials so far)."""
    from tuning.study.lifecycle import configure  # models and Keras: not for `tune`'s checks (commands/preflight.py)
    from tuning.study.rungs import ladder, promote
    from tuning.trial.objective import Objective

    settings = joined.settings
    study = configure(joined.study, settings, seed=settings.seed + seed_offset + len(joined.study.get_trials(deepcopy=False)))
    set_threads(threads)
    objective = Objective(settings, joined.holdout, characters=joined.characters, artifact_store=artifact_store())
    reporter = None if quiet else Reporter(study, target, rungs=ladder(settings))

    def on_trial_end(*_ignored) -> None:
        # queue the climb a finished trial earned; it runs after the trials already waiting (tuning.study.rungs)
        promote(study, settings, target)
        if reporter:
            reporter.poll()

    try:
        promote(study, settings, target)
        done = run_trials(study, objective, target, deadline_from(timeout), on_trial_end=on_trial_end,
                          limit=trials_per_process())
    finally:
        if reporter:
            reporter.close()
    if not done:
        recycle_process()
