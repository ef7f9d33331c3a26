"""Pruners by name: the table `tune start --pruner` offers, behind the chance floor, the laggard
rule and the rule that a trial leading the study is never stopped for its rank. They rank the
trials of one rung (tuning.study.rungs), all at the same point of one schedule; a probe answers
only to the floor, and is judged whole when it ends."""

from __future__ import annotations

import math

import numpy as np
import optuna
from optuna.trial import TrialState

from tuning.study.rungs import rung_of


class StopHopeless(optuna.pruners.BasePruner):
    """Prunes a trial whose validation accuracy is still below `floor` (twice chance) at its first
    report or later, or (with `laggards`, see Laggards) one in the bottom quarter of the trials
    that reached the same report, whatever its Hyperband bracket holds; otherwise asks `inner`. Hyperband's most
    patient bracket first judges its trials near their end, so without the laggard check a poor,
    slow trial there runs 3 of its 4 epochs on byclass-dev. The original study's trial is
    the reference and is never pruned for being weak. Only trials of the trial rung are ranked
    (tuning.study.rungs): probes and starting points climb there by their whole probe, not by a
    warm-up epoch. A trial whose report leads the finished trials is not stopped for its rank (`leads`), nor is one
    at its last report (`last_step`): it has trained in full, so it is ranked by its value. Not a HyperbandPruner itself, so samplers learn from every trial, not
    only from those of the trial's own bracket."""

    def __init__(self, inner: optuna.pruners.BasePruner, floor: float, laggards: optuna.pruners.BasePruner | None = None,
                 last_step: int | None = None):
        self.inner, self.floor, self.laggards, self.last_step = inner, floor, laggards, last_step

    def prune(self, study, trial) -> bool:
        step = trial.last_step
        if step is None:
            return False
        reference = bool(trial.user_attrs.get("baseline"))
        if not reference and trial.intermediate_values[step] < self.floor:
            return True
        if rung_of(trial) != "trial":
            # a probe is judged whole, against the other probes, when it ends (whether it climbs:
            # tuning.study.rungs); a final-rung trial is one of the study's leaders
            return False
        # asked even for the reference and the starting points, whose verdict is ignored: Hyperband
        # records each trial's value at its rungs as it asks, and the trials after them compete with those
        verdict = self.inner.prune(study, trial)
        if reference or ("starting_point" in trial.user_attrs and "promoted_from" not in trial.user_attrs):
            return False  # a starting point that did not climb ran in a study without rungs
        if self.last_step is not None and step >= self.last_step:
            return False  # its schedule is done: nothing left to save, and its value ranks it (it may climb)
        ranked_low = verdict or (self.laggards is not None and self.laggards.prune(study, trial))
        return ranked_low and not leads(study, trial.intermediate_values[step])


def leads(study, value: float) -> bool:
    """Whether `value` is at least the best finished value of the trial rung: a trial there is what
    the search looks for, not a weak one, whatever a rung ranks it behind. Hyperband keeps only the
    best of a small bracket at its last rung, which on letters-dev came at 4.5 of a trial's 5 epochs
    and stopped one at 0.9494 while the study's best was 0.9480."""
    values = [t.value for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
              if rung_of(t) == "trial"]
    return bool(values) and value >= max(values)


class Laggards(optuna.pruners.BasePruner):
    """Prunes a trial (maximised) whose best report so far is below the `percentile`-th of what the
    study's finished trials, pruned ones included, reported at the same step, once `min_peers` of
    them reached it, from step `warmup` on. Optuna's PercentilePruner ranks a trial among the
    complete trials only: under Hyperband those are the survivors of its rungs, so their bottom
    quarter is the top of the study, and late draws would be pruned at their first report. Here a trial is ranked among every trial that
    got as far as it has: at the first report all of them; at a later one, those that survived to it."""

    def __init__(self, percentile: float = 25.0, min_peers: int = 5, warmup: int = 1):
        self.percentile, self.min_peers, self.warmup = percentile, min_peers, warmup

    def prune(self, study, trial) -> bool:
        step = trial.last_step
        if step is None or step < self.warmup:
            return False
        rung = rung_of(trial)  # peers ran the same schedule
        peers = [t.intermediate_values[step]
                 for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
                 if step in t.intermediate_values and math.isfinite(t.intermediate_values[step])
                 and rung_of(t) == rung]
        if len(peers) < self.min_peers:
            return False
        best = max((v for v in trial.intermediate_values.values() if math.isfinite(v)), default=-math.inf)
        return best < float(np.percentile(peers, self.percentile))


def make_pruner(name: str, max_epochs: int, num_classes: int = 10, reports_per_epoch: int = 1) -> optuna.pruners.BasePruner:
    """The named pruner behind the chance floor; `none` prunes nothing at all. Its resource is a
    report: `reports_per_epoch` per epoch (StudySettings), so a trial's last step is epochs x that."""
    steps, rung = max_epochs * reports_per_epoch, first_rung(max_epochs, reports_per_epoch)
    if name == "none":
        return PRUNERS[name](steps, rung)
    laggards = Laggards(25.0, min_peers=5, warmup=rung) if name == "hyperband" else None
    return StopHopeless(PRUNERS[name](steps, rung), floor=2.0 / num_classes, laggards=laggards, last_step=steps)


def first_rung(max_epochs: int, reports_per_epoch: int = 1) -> int:
    """Hyperband's first rung, in reports: about 200 optimizer steps into a trial. Each trial warms
    up and then decays its learning rate over its own epochs, so one epoch of a small split (balanced-dev:
    105 steps at batch 128) says little of where an 8-epoch trial ends: there, a quarter of the epochs.
    On a split that reports within an epoch, one report already holds that many steps (byclass-dev:
    27k images, 216 steps), and a later rung would cost a slow trial half an hour."""
    return max(1, max_epochs // 4) if reports_per_epoch == 1 else 1


#: pruner name -> factory(last step, first rung); `tune start --pruner` offers these keys
PRUNERS = {
    "hyperband": lambda steps, rung: optuna.pruners.HyperbandPruner(min_resource=rung, max_resource=steps,
                                                                    reduction_factor=3),
    "median": lambda steps, rung: optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=rung),
    "none": lambda steps, rung: optuna.pruners.NopPruner(),
}
