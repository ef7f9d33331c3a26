"""The engine in-process on synthetic data: pruning, failures, target counts."""

import threading

import optuna
import pytest
from optuna.trial import TrialState

from data_pipeline import load_split, train_val_split
from tuning.study.lifecycle import INITIALIZED, create_or_resume, initialize
from tuning.settings import StudySettings
from tuning.workers.loop import run_trials
from tuning.errors import UserError
from tuning.trial.objective import Objective
from tuning.results.progress import counts
from tuning.study.starting_points import known_good


MLP_PARAMS = {"layers": 1, "layer1_units": 128, "dropout": 0.0, "activation": "relu", "label_smoothing": 0.0,
              "optimizer": "adam", "learning_rate": 1e-3, "lr_schedule": "warmup_cosine", "batch_size": 64}


@pytest.fixture
def holdout(data_dir):
    return train_val_split(load_split("mnist", data_dir))


def test_trials_report_every_epoch_and_get_pruned(holdout):
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=1.01))
    run_trials(study, Objective(StudySettings("mnist", "mlp", max_epochs=3), holdout), target=2)
    trials = study.get_trials()
    assert [t.state for t in trials] == [TrialState.PRUNED] * 2
    assert all(list(t.intermediate_values) == [1] and t.user_attrs["epochs_run"] == 1 for t in trials)


def test_complete_trial_records_its_cost_and_config(holdout):
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial({**MLP_PARAMS, "epochs": 2})
    run_trials(study, Objective(StudySettings("mnist", "mlp", max_epochs=2), holdout), target=1)
    trial = study.trials[0]
    assert trial.state == TrialState.COMPLETE
    assert trial.value == max(trial.intermediate_values.values())
    attrs = trial.user_attrs
    assert attrs["config"]["units"] == [128] and attrs["epochs_run"] == 2
    assert attrs["params_count"] == 784 * 128 + 128 + 128 * 10 + 10
    assert attrs["fit_seconds"] > 0 and attrs["images_per_second"] > 0 and attrs["worker_rss_mb"] > 0
    assert len(attrs["history"]["val_accuracy"]) == 2


def test_a_large_split_reports_within_the_epoch_and_is_pruned_there(holdout):
    """At 3 reports an epoch the steps are 1..3 x epochs, the epoch's end (steps 3, 6) carries the
    epoch's full validation accuracy, and a pruner can stop a trial a third of the way into its first epoch."""
    settings = StudySettings("mnist", "mlp", max_epochs=2, reports_per_epoch=3)
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial({**MLP_PARAMS, "epochs": 2})
    run_trials(study, Objective(settings, holdout), target=1)
    trial = study.trials[0]
    assert trial.state == TrialState.COMPLETE and list(trial.intermediate_values) == [1, 2, 3, 4, 5, 6]
    assert [trial.intermediate_values[3], trial.intermediate_values[6]] == trial.user_attrs["history"]["val_accuracy"]
    within = [trial.intermediate_values[step] for step in (1, 2, 4, 5)]  # on the validation sample: all 40 here
    assert all(abs(value * len(holdout.val_labels) - round(value * len(holdout.val_labels))) < 1e-6 for value in within)
    assert trial.user_attrs["epochs_run"] == 2

    pruned = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=1.01))
    run_trials(pruned, Objective(settings, holdout), target=1)
    trial = pruned.trials[0]
    assert trial.state == TrialState.PRUNED and list(trial.intermediate_values) == [1]
    assert trial.user_attrs["epochs_run"] == 0.33 and trial.user_attrs["images_per_second"] > 0


def test_failing_trials_are_recorded_and_the_study_goes_on(holdout, monkeypatch):
    import models

    real_build, calls = models.build, []

    def flaky_build(config):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("simulated out of memory")
        return real_build(config)

    monkeypatch.setattr(models, "build", flaky_build)
    study = optuna.create_study(direction="maximize")
    run_trials(study, Objective(StudySettings("mnist", "mlp", max_epochs=1), holdout), target=3)
    tally = counts(study)
    assert (tally["finished"], tally["fail"]) == (3, 1)
    failed = [t for t in study.trials if t.state == TrialState.FAIL][0]
    assert failed.user_attrs["fail_reason"] == "RuntimeError: simulated out of memory"


def test_a_trial_finished_elsewhere_while_it_ran_does_not_stop_the_worker(capsys):
    """Another process may fail this worker's trial (its heartbeat lapsed) before it reports."""
    study = optuna.create_study(direction="maximize")

    def objective(trial):
        if trial.number == 0:
            study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        return 0.5

    run_trials(study, objective, target=2)
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.COMPLETE, TrialState.COMPLETE]
    assert "finished elsewhere" in capsys.readouterr().err


def test_nan_loss_stops_the_trial_with_a_reason():
    from tuning.trial.objective import ReportToTrial

    trial = optuna.create_study(direction="maximize").ask()
    with pytest.raises(FloatingPointError, match="loss became nan in epoch 3; lower the learning rate"):
        ReportToTrial(trial).on_epoch_end(2, {"loss": float("nan"), "val_accuracy": 0.1})


SETTINGS = StudySettings(split="mnist", model="mlp", seed=0, max_epochs=2, train_fraction=1.0,
                         sampler="tpe", pruner="none")
CHECKSUMS = {"train-images": "aa", "train-labels": "bb"}


def half_written_study(storage: str) -> optuna.Study:
    """What a joining worker finds while the creator is still writing the study's attributes."""
    study = optuna.create_study(storage=storage, study_name="s", direction="maximize")
    study.set_user_attr("split", "mnist")
    return study


def test_a_worker_joining_a_study_being_initialized_waits_for_it(tmp_path):
    storage = f"sqlite:///{tmp_path}/o.db"
    study = half_written_study(storage)
    creator = threading.Timer(1.0, initialize, (study, SETTINGS, CHECKSUMS, 4))
    creator.start()
    joined = create_or_resume(storage, "s", SETTINGS, CHECKSUMS, target=4)  # raised "other data files" before
    creator.join()
    assert joined.user_attrs["data_checksums"] == CHECKSUMS
    assert len(joined.trials) == 1 + len(known_good("mlp", 2))  # one set of starting points, not two


def test_a_study_whose_creator_died_mid_initialization_is_initialized_by_the_next(tmp_path, monkeypatch):
    monkeypatch.setattr("tuning.study.lifecycle.INITIALIZE_WAIT_S", 0.5)
    storage = f"sqlite:///{tmp_path}/o.db"
    half_written_study(storage)
    study = create_or_resume(storage, "s", SETTINGS, CHECKSUMS, target=4)
    assert study.user_attrs[INITIALIZED] and study.user_attrs["data_checksums"] == CHECKSUMS
    assert len(study.trials) == 1 + len(known_good("mlp", 2))
    with pytest.raises(UserError, match="other data files"):  # once complete, the checks hold again
        create_or_resume(storage, "s", SETTINGS, {"train-images": "changed"}, target=4)


def test_a_foreign_study_with_trials_is_refused_not_taken_over(tmp_path):
    storage = f"sqlite:///{tmp_path}/o.db"
    foreign = optuna.create_study(storage=storage, study_name="s")
    foreign.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=1)
    with pytest.raises(UserError, match="not made by `tune start`"):
        create_or_resume(storage, "s", SETTINGS, CHECKSUMS, target=4)
    assert optuna.load_study(study_name="s", storage=storage).user_attrs == {}


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
    from tuning.study.samplers import make_pruner

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
    from tuning.study.samplers import make_pruner

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
    from tuning.study.samplers import StopHopeless, make_pruner

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

    from tuning.study.samplers import Laggards

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
    from tuning.study.samplers import StopHopeless

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
    from tuning.study.samplers import make_pruner

    study = optuna.create_study(direction="maximize", pruner=make_pruner("hyperband", 4, num_classes=10))
    study.enqueue_trial({}, user_attrs={"baseline": True})
    study.optimize(curve_objective([[0.1, 0.1, 0.15, 0.2], [0.1] * 4]), n_trials=2)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE, TrialState.PRUNED]


def test_starting_points_answer_only_to_the_chance_floor():
    """A queued starting point slow to warm up runs to its end where Hyperband stops a sampled trial
    with the same curve; one at chance is still stopped after its first epoch."""
    from tuning.study.samplers import make_pruner

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
