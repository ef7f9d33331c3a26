"""The pruners `tune start` builds, on fixed learning curves: what each rule stops and what it lets finish."""

import optuna
import pytest
from optuna.trial import TrialState


def curve_objective(curves):
    """An objective that reports `curves[trial.number]` (per-epoch accuracies; a list, or a dict by
    trial number) epoch by epoch."""
    def objective(trial):
        curve = curves[trial.number]
        for step, value in enumerate(curve, start=1):
            trial.report(value, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return curve[-1]

    return objective


@pytest.mark.parametrize("name", ["hyperband", "median"])
def test_the_projects_pruners_stop_weak_trials_and_let_strong_ones_finish(name):
    """The pruners `tune start` builds (not a stand-in): with 10 classes, a trial at chance stops
    after its first epoch whatever the inner pruner says; a mediocre one (above the chance floor) is
    stopped by the inner pruner once strong trials exist; the strong ones run to the end."""
    from tuning.study.pruners import make_pruner

    epochs = 9
    strong = [[0.6 + 0.03 * step + 0.001 * k for step in range(epochs)] for k in range(16)]
    mediocre = [[0.3] * epochs for _ in range(4)]
    at_chance = [[0.1] * epochs]
    curves = strong + mediocre + at_chance
    # Hyperband's bracket of a trial hashes the study's name: a fixed name makes the run the same every time
    study = optuna.create_study(study_name="pruners", direction="maximize", pruner=make_pruner(name, epochs, num_classes=10),
                                sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(curve_objective(curves), n_trials=len(curves))
    trials = study.trials
    steps_run = [len(t.intermediate_values) for t in trials]
    assert trials[-1].state == TrialState.PRUNED and steps_run[-1] == 1  # the chance floor
    assert all(t.state == TrialState.PRUNED and len(t.intermediate_values) < epochs for t in trials[16:20]), steps_run
    assert sum(t.state == TrialState.COMPLETE for t in trials[:16]) >= 8, steps_run


def test_sampled_trials_compete_with_the_exempt_ones_at_hyperbands_rungs():
    """The reference and the starting points are never pruned, but their values at the rungs are what
    the trials after them must match: a sampled trial below them at the first rung stops there."""
    from tuning.study.pruners import make_pruner

    study = optuna.create_study(study_name="rungs", direction="maximize", pruner=make_pruner("hyperband", 4, 10),
                                sampler=optuna.samplers.RandomSampler(seed=0))
    study.enqueue_trial({}, user_attrs={"baseline": True})
    for _ in range(3):
        study.enqueue_trial({}, user_attrs={"starting_point": "known good"})
    curves = [[0.5, 0.6, 0.7, 0.8]] + [[0.8, 0.85, 0.9, 0.92]] * 3 + [[0.6, 0.7, 0.8, 0.95]] * 6
    study.optimize(curve_objective(curves), n_trials=len(curves))
    assert all(t.state == TrialState.COMPLETE for t in study.trials[:4])
    sampled = study.trials[4:]
    assert sum(t.state == TrialState.PRUNED and len(t.intermediate_values) < 4 for t in sampled) >= 4, \
        [(t.state.name, len(t.intermediate_values)) for t in sampled]


def test_a_laggard_stops_at_the_first_rung_whatever_its_bracket_holds():
    """Hyperband's patient brackets first judge a trial near its end; the bottom quarter of the
    finished trials at a report stops any sampled trial from the first rung on, while the
    same curves under Hyperband alone let some laggards run most of their steps."""
    from tuning.study.pruners import StopHopeless, make_pruner

    epochs, per_epoch = 4, 3
    steps = epochs * per_epoch
    strong = [[0.6 + 0.02 * step + 0.001 * k for step in range(steps)] for k in range(10)]
    # above the chance floor, below every strong trial, each a little worse than the last
    laggard = [[0.4 - 0.01 * k + 0.01 * step for step in range(steps)] for k in range(8)]
    curves = strong + laggard

    def run(pruner):
        study = optuna.create_study(study_name="laggards", direction="maximize", pruner=pruner,
                                    sampler=optuna.samplers.RandomSampler(seed=0))
        study.optimize(curve_objective(curves), n_trials=len(curves))
        return [len(t.intermediate_values) for t in study.trials[len(strong):]]

    hyperband_alone = make_pruner("hyperband", epochs, 10, per_epoch).inner
    assert max(run(StopHopeless(hyperband_alone, floor=0.2))) > 1  # the patient brackets let a laggard run on
    assert run(make_pruner("hyperband", epochs, 10, per_epoch)) == [1] * len(laggard)


def test_a_late_draw_is_ranked_among_every_trial_that_reached_its_report_not_the_survivors():
    """Under Hyperband the complete trials are the survivors; ranked among them alone (Optuna's
    PercentilePruner) a middling draw is pruned at its first report. Ranked among all trials that reached the report, it trains on,
    and a draw in the study's bottom quarter still stops there."""
    from optuna.trial import create_trial

    from tuning.study.pruners import Laggards

    def study_with_history(pruner):
        study = optuna.create_study(direction="maximize", pruner=pruner)
        for k in range(5):  # the survivors: complete, strong from their first report
            study.add_trial(create_trial(state=TrialState.COMPLETE, value=0.9, intermediate_values={1: 0.80 + 0.01 * k, 2: 0.9}))
        for k in range(10):  # the draws Hyperband stopped at the first rung
            study.add_trial(create_trial(state=TrialState.PRUNED, intermediate_values={1: 0.30 + 0.02 * k}))
        return study

    def reports_of(pruner, first):
        study = study_with_history(pruner)
        # the new trial is number 15; it ends above the survivors
        study.optimize(curve_objective({len(study.trials): [first, first + 0.25]}), n_trials=1)
        return len(study.trials[-1].intermediate_values), study.trials[-1].state

    survivors_only = optuna.pruners.PercentilePruner(25.0, n_startup_trials=5)
    assert reports_of(survivors_only, 0.7) == (1, TrialState.PRUNED)  # the fault: a middling draw stopped at once
    assert reports_of(Laggards(25.0, min_peers=5), 0.7) == (2, TrialState.COMPLETE)
    assert reports_of(Laggards(25.0, min_peers=5), 0.31) == (1, TrialState.PRUNED)  # the bottom quarter still stops
    assert reports_of(Laggards(25.0, min_peers=16), 0.31) == (2, TrialState.COMPLETE)  # too few peers: no verdict


def test_a_trial_that_leads_the_finished_ones_is_not_stopped_for_its_rank():
    """Hyperband keeps only the best of a small bracket at its last rung: on letters-dev it stopped a
    trial at 0.9494 near its end while the study's best was 0.9480. Whatever the rank rule
    (here Optuna's ThresholdPruner, which ranks every value below 1.0 low), a trial at or above the
    best finished value trains on; one below it, or in a study with nothing finished yet, still stops."""
    from tuning.study.pruners import StopHopeless

    def steps_run(finished: list[float], curve: list[float]) -> int:
        study = optuna.create_study(direction="maximize",
                                    pruner=StopHopeless(optuna.pruners.ThresholdPruner(lower=1.0), floor=0.2))
        for value in finished:
            study.add_trial(optuna.trial.create_trial(state=TrialState.COMPLETE, value=value,
                                                      intermediate_values={1: value}))
        study.optimize(curve_objective({len(finished): curve}), n_trials=1)
        return len(study.trials[-1].intermediate_values)

    assert steps_run([0.90, 0.948], [0.948, 0.949, 0.95]) == 3  # ties the best, then passes it
    assert steps_run([0.90, 0.948], [0.94, 0.949, 0.95]) == 1  # behind the best at its first report
    assert steps_run([], [0.948, 0.949, 0.95]) == 1  # nothing to lead yet: the rank rule decides
    assert steps_run([0.948], [0.1, 0.96, 0.97]) == 1  # the chance floor still stops it


def test_the_reference_trial_is_never_pruned_for_being_weak():
    from tuning.study.pruners import make_pruner

    study = optuna.create_study(direction="maximize", pruner=make_pruner("hyperband", 4, num_classes=10))
    study.enqueue_trial({}, user_attrs={"baseline": True})
    study.optimize(curve_objective([[0.1, 0.1, 0.15, 0.2], [0.1] * 4]), n_trials=2)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE, TrialState.PRUNED]


def test_starting_points_answer_only_to_the_chance_floor():
    """A queued starting point slow to warm up runs to its end where Hyperband stops a sampled trial
    with the same curve; one at chance is still stopped after its first epoch."""
    from tuning.study.pruners import make_pruner

    epochs, strong = 8, [[0.6 + 0.03 * step + 0.001 * k for step in range(8)] for k in range(12)]
    slow_start = [0.3, 0.3, 0.3, 0.4, 0.5, 0.6, 0.8, 0.95]  # below every strong curve until epoch 7
    curves = strong + [slow_start] * 3 + [[0.1] * epochs] + [slow_start] * 3
    study = optuna.create_study(study_name="starting", direction="maximize", pruner=make_pruner("hyperband", epochs, 10),
                                sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(curve_objective(curves), n_trials=len(strong))
    for _ in range(4):
        study.enqueue_trial({}, user_attrs={"starting_point": "known good"})
    study.optimize(curve_objective(curves), n_trials=7)
    queued, at_chance, sampled = study.trials[12:15], study.trials[15], study.trials[16:]
    assert all(t.state == TrialState.COMPLETE for t in queued)
    assert all("completed_rung_0" in t.system_attrs for t in queued)  # later trials compete with them
    assert at_chance.state == TrialState.PRUNED and len(at_chance.intermediate_values) == 1
    assert all(t.state == TrialState.PRUNED for t in sampled), [len(t.intermediate_values) for t in sampled]


def test_a_trial_at_its_last_report_is_ranked_by_its_value_not_stopped():
    """A trial pruned at its last report has trained in full: stopping it saves nothing and throws
    away a value that might climb (byclass-dev: a climb pruned at 0.8623, 3 of 3 epochs, beside a best of 0.8635)."""
    from tuning.study.pruners import StopHopeless

    def final_state(last_step, curve):
        study = optuna.create_study(direction="maximize", pruner=StopHopeless(
            optuna.pruners.ThresholdPruner(lower=1.0), floor=0.2, last_step=last_step))
        study.add_trial(optuna.trial.create_trial(state=TrialState.COMPLETE, value=0.95, intermediate_values={1: 0.95}))
        study.optimize(curve_objective({1: curve}), n_trials=1)
        return len(study.trials[-1].intermediate_values), study.trials[-1].state

    assert final_state(1, [0.9]) == (1, TrialState.COMPLETE)  # one report, its last: ranked by its value
    assert final_state(3, [0.9, 0.91, 0.92]) == (1, TrialState.PRUNED)  # before its end the rank rule holds
    assert final_state(1, [0.1]) == (1, TrialState.PRUNED)  # below the chance floor it still stops
