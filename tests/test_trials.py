"""Trials and studies in-process on synthetic data: reports, failures, target counts, initialization."""

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
from tuning.study.progress import counts
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
    study.enqueue_trial(MLP_PARAMS)
    run_trials(study, Objective(StudySettings("mnist", "mlp", max_epochs=2, ladder=False), holdout), target=1)
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
    settings = StudySettings("mnist", "mlp", max_epochs=2, reports_per_epoch=3, ladder=False)
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial(MLP_PARAMS)
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


def test_the_loop_itself_keeps_a_studys_target_whatever_the_objective():
    """Two workers may pass the count check together; the later one's trial is not run (whatever the
    objective: a model, or the load test's stand-in), so the study ends with exactly its target."""
    from tuning.workers.loop import still_ours

    study = optuna.create_study(direction="maximize")
    study.tell(study.ask(), 0.5)
    study.ask()  # another worker's trial, running: the target of 2 is spoken for
    ran = []
    study.optimize(still_ours(lambda trial: ran.append(trial.number) or 0.5, target=2), n_trials=1, catch=(Exception,))
    assert ran == [] and study.trials[2].state == TrialState.FAIL
    assert study.trials[2].user_attrs["fail_reason"].startswith("not run: the study already had its 2 trials")
    study.optimize(still_ours(lambda trial: ran.append(trial.number) or 0.5, target=4), n_trials=1)
    assert ran == [3]  # below its target a study runs the trial


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
