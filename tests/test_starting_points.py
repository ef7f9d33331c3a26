"""Where a study starts: the original model, then warm-start configs, then the known-good ones."""

import optuna
import pytest
from optuna.trial import TrialState

from data_pipeline import load_split, train_val_split
from tuning.study.lifecycle import create_or_resume
from tuning.settings import StudySettings
from tuning.workers.loop import run_trials
from tuning.errors import UserError
from tuning.trial.objective import Objective
from tuning.trial.spaces import OptunaSampler, space_of
from tuning.study.starting_points import known_good, warm_start

CHECKSUMS = {"train-images": "aa"}


def settings(split, model="cnn", max_epochs=2):
    return StudySettings(split=split, model=model, seed=0, max_epochs=max_epochs, train_fraction=1.0,
                         sampler="tpe", pruner="hyperband")


def finished_study(storage, split, model, values):
    """A study of `split` whose random trials completed with `values` (best last)."""
    study = create_or_resume(storage, f"emnist-{split}-{model}", settings(split, model, 4), CHECKSUMS, len(values))
    for trial in study.get_trials(states=(TrialState.WAITING,)):
        study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)  # not part of this source
    draw = optuna.samplers.RandomSampler(seed=5)
    for value in values:
        trial = optuna.create_study(sampler=draw).ask()
        space_of(model)(OptunaSampler(trial), 47, 4)
        study.add_trial(optuna.trial.create_trial(params=trial.params, distributions=trial.distributions, value=value))
    return study


def test_the_original_model_comes_first_then_warm_start_then_known_good(tmp_path):
    storage = f"sqlite:///{tmp_path}/o.db"
    source = finished_study(storage, "balanced", "cnn", [0.5, 0.7, 0.9])
    best = sorted(source.get_trials(states=(TrialState.COMPLETE,)), key=lambda t: -t.value)
    warm = warm_start(storage, "emnist-balanced-cnn", settings("mnist"), 10, top=2)
    study = create_or_resume(storage, "emnist-mnist-cnn", settings("mnist"), CHECKSUMS, 12,
                             warm_start=("emnist-balanced-cnn", warm))
    queued = study.get_trials(states=(TrialState.WAITING,))
    origins = [t.user_attrs.get("starting_point", "original" if t.user_attrs.get("baseline") else None) for t in queued]
    assert origins == ["original", "warm start", "warm start", "known good", "known good"]
    original = queued[0].user_attrs["fixed_config"]
    assert original["batch_norm_momentum"] == 0.99 and original["num_classes"] == 10 and original["epochs"] == 2
    for trial, source_trial in zip(queued[1:3], best):
        assert trial.system_attrs["fixed_params"] == source_trial.params  # epochs are the rung's
    assert [t.system_attrs["fixed_params"] for t in queued[3:]] == known_good("cnn", 2)
    assert study.user_attrs["warm_start"] == "emnist-balanced-cnn"


def test_a_warm_started_trial_trains_with_this_splits_classes(tmp_path, data_dir):
    storage = f"sqlite:///{tmp_path}/o.db"
    source = finished_study(storage, "balanced", "mlp", [0.4, 0.8])
    warm = warm_start(storage, "emnist-balanced-mlp", settings("mnist", "mlp", 1), 10, top=1)
    study = create_or_resume(storage, "emnist-mnist-mlp", settings("mnist", "mlp", 1), CHECKSUMS, 2,
                             warm_start=("emnist-balanced-mlp", warm))
    holdout = train_val_split(load_split("mnist", data_dir))
    run_trials(study, Objective(StudySettings("mnist", "mlp", max_epochs=1), holdout), target=2)
    original, warmed = study.get_trials()[:2]
    assert original.state == warmed.state == TrialState.COMPLETE
    assert original.user_attrs["config"] == original.user_attrs["fixed_config"]  # the original trains as it was
    source_best = max(source.get_trials(states=(TrialState.COMPLETE,)), key=lambda t: t.value)
    assert warmed.user_attrs["config"]["units"] == [source_best.params[f"layer{i}_units"]
                                                    for i in range(1, source_best.params["layers"] + 1)]
    assert warmed.user_attrs["config"]["num_classes"] == 10  # the source had 47


@pytest.mark.parametrize("source, model, fragment", [
    ("emnist-letters-cnn", "cnn", "no such study"),
    ("emnist-balanced-mlp", "cnn", "tunes mlp, not cnn"),
    ("emnist-digits-cnn", "cnn", "no complete trial"),
])
def test_warm_start_refuses_what_it_cannot_use(tmp_path, source, model, fragment):
    storage = f"sqlite:///{tmp_path}/o.db"
    finished_study(storage, "balanced", "mlp", [0.5])
    finished_study(storage, "digits", "cnn", [])
    with pytest.raises(UserError, match=fragment):
        warm_start(storage, source, settings("mnist", model), 10, top=3)


def test_on_a_large_split_only_starting_points_within_the_cost_bound_are_queued(tmp_path):
    """byclass-dev allows a conv stack 16M multiply-adds: the second known-good CNN (18M) and
    costlier warm-start configs are left out, the cheapest first one stays."""
    import dataclasses

    from tuning.trial.spaces import config_from_params
    from tuning.trial.spaces import conv_macs

    bound = 16_000_000
    assert len(known_good("cnn", 3)) == 2 and len(known_good("cnn", 3, bound)) == 1
    assert conv_macs(config_from_params("cnn", known_good("cnn", 3, bound)[0], 62, 3)) <= bound
    assert known_good("mlp", 3, bound) == known_good("mlp", 3)  # the bound is on conv stacks only
    storage = f"sqlite:///{tmp_path}/o.db"
    finished_study(storage, "balanced", "cnn", [0.5 + 0.01 * k for k in range(30)])
    bounded = dataclasses.replace(settings("byclass", max_epochs=3), max_macs=bound)
    chosen = warm_start(storage, "emnist-balanced-cnn", bounded, 62, top=30)
    unbounded = warm_start(storage, "emnist-balanced-cnn", settings("byclass", max_epochs=3), 62, top=30)
    assert 0 < len(chosen) < len(unbounded)
    assert all(conv_macs(config_from_params("cnn", params, 62, 3)) <= bound for params in chosen)


def test_warm_start_from_an_export_file_needs_no_source_study(tmp_path):
    """A shipped `studies/best/<split>-<model>.json` seeds a study in another storage (a full-scale
    one): its tuned configs are queued best first, the original study's model is left out."""
    from tuning.export import export_study, write_export

    source = finished_study(f"sqlite:///{tmp_path}/dev.db", "balanced", "cnn", [0.5, 0.7, 0.9])
    source.add_trial(optuna.trial.create_trial(params=source.best_trial.params, distributions=source.best_trial.distributions,
                                               value=0.95, user_attrs={"baseline": True}))
    path = write_export(export_study(source, top=3), tmp_path / "balanced-cnn.json")
    storage = f"sqlite:///{tmp_path}/full.db"
    chosen = warm_start(storage, str(path), settings("byclass", max_epochs=3), 62, top=3)
    tuned = sorted((t for t in source.get_trials(states=(TrialState.COMPLETE,)) if not t.user_attrs.get("baseline")),
                   key=lambda t: -t.value)
    assert chosen == [t.params for t in tuned[:2]]  # top 3 held the original
    study = create_or_resume(storage, "emnist-byclass-cnn", settings("byclass", max_epochs=3), CHECKSUMS, 12,
                             warm_start=(str(path), chosen))
    warmed = [t for t in study.get_trials() if t.user_attrs.get("starting_point") == "warm start"]
    assert [t.system_attrs["fixed_params"] for t in warmed] == chosen
    assert study.user_attrs["warm_start"] == str(path)


def test_a_warm_start_with_nothing_this_study_can_use_is_refused_saying_why(tmp_path):
    """Asked for a warm start, a study must not silently start without one: the shipped byclass
    config (34M multiply-adds) is over byclass-dev's 3-epoch bound, and params of another space
    are no point of this one."""
    import dataclasses
    import json

    from tuning.export import read_export

    shipped = "studies/best/byclass-cnn.json"
    bounded = dataclasses.replace(settings("byclass", max_epochs=3), max_macs=16_000_000)
    with pytest.raises(UserError, match=r"none of its configs fits this study \(1 over its bound of 16M .* 34M"):
        warm_start(None, shipped, bounded, 62, top=3)
    assert warm_start(None, shipped, dataclasses.replace(bounded, max_macs=None), 62, top=3)  # unbounded: it fits

    document = read_export(shipped)
    document["trials"][0]["params"] = {"layers": 9}  # no point of the CNN space
    foreign = tmp_path / "byclass-cnn.json"
    foreign.write_text(json.dumps(document))
    with pytest.raises(UserError, match="1 not a point of this study's cnn space"):
        warm_start(None, str(foreign), bounded, 62, top=3)
