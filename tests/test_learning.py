"""One study that learns for real: images and labels fed out of step, a broken schedule or a dead
search space would all leave it at chance (0.10) while every other test passed."""

import json

import optuna

import pytest

from tests.conftest import run_tune


@pytest.mark.slow
@pytest.mark.realdata
def test_a_short_study_on_real_handwriting_clears_chance_by_far(tmp_path, dev_data):
    storage = f"sqlite:///{tmp_path}/o.db"
    result = run_tune("start", "--split", "mnist", "--trials", "2", "--max-epochs", "2", "--pruner", "none",
                      "--storage", storage, "--data-dir", str(dev_data), cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr
    status = json.loads(run_tune("status", "--json", "--storage", storage, cwd=tmp_path).stdout)[0]
    assert status["complete"] == 2
    # trial 1 is the first known-good config's probe: after 1 epoch (56 steps) on 7,140 real images it
    # is far above chance (0.10; measured 0.885); the original model (trial 0) lags with its batch-norm
    # momentum 0.99, so the probe is the best although the reference ran the longer schedule
    assert status["best_value"] >= 0.8, status
    assert status["best_trial"] == 1


@pytest.mark.slow
@pytest.mark.realdata
def test_the_samplers_own_draws_learn_on_real_handwriting(tmp_path, dev_data):
    """No reference, no starting points: every trial is a draw of TPE (its random start-up here), so
    this fails when the space's draws do not train, however good the queued configs are."""
    storage = f"sqlite:///{tmp_path}/o.db"
    result = run_tune("start", "--split", "mnist", "--trials", "3", "--max-epochs", "2", "--pruner", "none",
                      "--no-reference", "--no-starting-points", "--storage", storage, "--data-dir", str(dev_data),
                      cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr
    trials = optuna.load_study(study_name="emnist-mnist-cnn", storage=storage).trials
    assert len(trials) == 3 and not [t for t in trials if {"baseline", "starting_point"} & set(t.user_attrs)]
    values = sorted(t.value for t in trials if t.value is not None)
    assert len(values) == 3, [t.state for t in trials]
    # three probes of 1 epoch (56 steps) on 7,140 real images: every draw trains far above chance
    # (0.10); seed 0 measured 0.94, 0.88 and 0.51
    assert values[-1] >= 0.9 and values[0] >= 0.3, values
