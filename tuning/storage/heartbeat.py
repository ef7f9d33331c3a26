"""Heartbeats for the storages Optuna gives none: a journal file and the gRPC proxy.

Optuna keeps its heartbeat promise (a killed worker's RUNNING trial is failed after the grace period
and retried) only on RDBStorage; JournalStorage and GrpcStorageProxy do not subclass BaseHeartbeat.
`WithHeartbeats` wraps either: every call goes to the wrapped storage, and the heartbeat is a trial
system attribute (seconds since the epoch, the worker's clock: hosts must keep time, e.g. NTP), so
Optuna's own heartbeat thread, `fail_stale_trials` and RetryHeartbeatStaleTrialCallback work on
them unchanged, and a trial's heartbeat reaches every worker the storage reaches.
"""

from __future__ import annotations

import copy
import time

from optuna.distributions import FloatDistribution, IntDistribution
from optuna.storages import BaseStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages._heartbeat import BaseHeartbeat
from optuna.trial import FrozenTrial, TrialState

HEARTBEAT_ATTR = "tune:heartbeat"


class RetryStaleTrial(RetryHeartbeatStaleTrialCallback):
    """Optuna's retry of a killed worker's trial, for every trial a study holds. Optuna copies the
    trial with `create_trial`, which refuses a value outside its distribution; an enqueued trial (the
    original model, a starting point, a warm start) may hold one, since Optuna keeps a fixed value out
    of range with a warning. Refused, the retry would raise inside every later `optimize`'s stale
    check and stop the worker on each resume; here each such distribution is widened to hold its value."""

    def __call__(self, study, trial: FrozenTrial) -> None:
        trial = copy.copy(trial)
        trial.distributions = {name: holding(distribution, trial.params[name])
                               for name, distribution in trial.distributions.items()}
        super().__call__(study, trial)


def holding(distribution, value):
    """`distribution`, or a numeric one widened just enough to contain `value`."""
    if not isinstance(distribution, (IntDistribution, FloatDistribution)) or distribution._contains(
            distribution.to_internal_repr(value)):
        return distribution
    low, high = min(distribution.low, value), max(distribution.high, value)
    if isinstance(distribution, IntDistribution):
        return IntDistribution(int(low), int(high), log=distribution.log,
                               step=distribution.step if (high - low) % distribution.step == 0 else 1)
    step = distribution.step if distribution.step and round((high - low) / distribution.step, 8).is_integer() else None
    return FloatDistribution(low, high, log=distribution.log, step=step)


class WithHeartbeats(BaseStorage, BaseHeartbeat):
    """`storage` with heartbeats every `interval` seconds; a RUNNING trial silent for `grace` seconds
    is stale. Only trials that recorded a heartbeat here are judged (a trial run by an RDB worker
    beside them keeps its own heartbeat in the database)."""

    def __init__(self, storage: BaseStorage, interval: int, grace: int, max_retry: int) -> None:
        self.wrapped = storage
        self.interval, self.grace = interval, grace
        self.stale_callback = RetryStaleTrial(max_retry=max_retry)

    def __getattr__(self, name):  # what the wrapped storage has beyond BaseStorage (close, wait_server_ready)
        return getattr(self.wrapped, name)

    def record_heartbeat(self, trial_id: int) -> None:
        self.wrapped.set_trial_system_attr(trial_id, HEARTBEAT_ATTR, time.time())

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        now = time.time()
        stale = []
        for trial in self.wrapped.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,)):
            beat = trial.system_attrs.get(HEARTBEAT_ATTR)
            if beat is None:
                continue
            # a retried trial carries its predecessor's last beat until its own first one
            started = trial.datetime_start.timestamp() if trial.datetime_start else beat
            if now - max(beat, started) > self.grace:
                stale.append(trial._trial_id)
        return stale

    def get_heartbeat_interval(self) -> int | None:
        return self.interval

    def get_heartbeat_stale_trial_callback(self):
        return self.stale_callback


def _delegate(name: str):
    def call(self, *args, **kwargs):
        return getattr(self.wrapped, name)(*args, **kwargs)

    call.__name__ = name
    return call


# every method of BaseStorage goes to the wrapped storage, its own optimised versions included
for _name in [name for name in vars(BaseStorage) if not name.startswith("_") and callable(getattr(BaseStorage, name))]:
    setattr(WithHeartbeats, _name, _delegate(_name))
WithHeartbeats.__abstractmethods__ = frozenset()
