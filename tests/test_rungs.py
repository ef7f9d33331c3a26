"""The rungs a config climbs (tuning.study.rungs): which schedules a study has, who climbs when,
how a study's best is ranked, and what the search is said to have gained."""

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from data_pipeline import load_split, train_val_split
from tuning.export import export_study
from tuning.settings import StudySettings
from tuning.study.pruners import make_pruner
from tuning.study.rungs import Rung, due_promotion, duplicate_climb, final_climbers, ladder, promote, ranked, search_gain
from tuning.trial.objective import Objective
from tuning.workers.loop import run_trials

DIST = {"x": FloatDistribution(0, 1)}


@pytest.mark.parametrize("settings, expected", [
    (StudySettings("balanced", "cnn", max_epochs=10), [Rung("probe", 2), Rung("trial", 10)]),
    (StudySettings("mnist", "cnn", max_epochs=4), [Rung("probe", 1), Rung("trial", 4), Rung("final", 10)]),
    # byclass-dev: three reports an epoch, so the probe is one epoch over a third of the images
    (StudySettings("byclass", "cnn", max_epochs=3, reports_per_epoch=3),
     [Rung("probe", 1, 0.3333), Rung("trial", 3), Rung("final", 10)]),
    (StudySettings("mnist", "mlp", max_epochs=1), [Rung("trial", 1), Rung("final", 10)]),  # no probe as long as a trial
    (StudySettings("mnist", "mlp", max_epochs=12), [Rung("probe", 3), Rung("trial", 12)]),
    (StudySettings("mnist", "mlp", max_epochs=4, ladder=False), [Rung("trial", 4)]),
])
def test_a_study_has_rungs_of_complete_schedules_up_to_the_shipped_one(settings, expected):
    assert list(ladder(settings)) == expected


def trial(number, value, rung="probe", state=TrialState.COMPLETE, **attrs):
    made = create_trial(state=state, value=value if state == TrialState.COMPLETE else None, params={"x": number / 100},
                        distributions=DIST, user_attrs={"rung": rung, **attrs})
    made.number = number
    return made


RUNGS3 = (Rung("probe", 1), Rung("trial", 4), Rung("final", 10))


def test_the_top_third_of_the_probes_climb_best_first_and_once():
    probes = [trial(0, 0.5), trial(1, 0.9)]
    assert due_promotion(probes, RUNGS3, target=100) is None  # 2 finished: a third of them is nobody yet
    probes.append(trial(2, 0.7))
    source, rung = due_promotion(probes, RUNGS3, target=100)
    assert (source.number, rung.name) == (1, "trial")
    climbed = probes + [trial(3, None, "trial", TrialState.WAITING, promoted_from=1)]
    assert due_promotion(climbed, RUNGS3, target=100) is None  # queued once, not again
    six = climbed + [trial(4, 0.2), trial(5, 0.1), trial(6, 0.8)]
    assert due_promotion(six, RUNGS3, target=100)[0].number == 6  # 6 probes: the best two climb
    failed = probes + [trial(3, None, "trial", TrialState.FAIL, promoted_from=1)]
    assert due_promotion(failed, RUNGS3, target=100)[0].number == 1  # a climb that failed is owed again
    twice = failed + [trial(4, None, "trial", TrialState.FAIL, promoted_from=1)]
    assert due_promotion(twice, RUNGS3, target=100) is None  # but not a third time: it takes no run more
    lost_races = failed + [trial(4, None, "trial", TrialState.FAIL, promoted_from=1, fail_reason="not run: ...")]
    assert due_promotion(lost_races, RUNGS3, target=100)[0].number == 1  # a climb that never ran did not fail


def test_a_starting_point_that_leads_its_rung_climbs_at_once():
    start = trial(0, 0.8, starting_point="known good")
    assert due_promotion([start], RUNGS3, target=100)[0].number == 0  # no peers to wait for
    assert due_promotion([trial(0, 0.8)], RUNGS3, target=100) is None  # a sampled draw waits for two peers
    led = [start, trial(1, 0.9)]
    assert due_promotion(led, RUNGS3, target=100) is None  # led by a draw: the third-rule holds
    reference = [trial(0, 0.99, baseline=True), start]
    assert due_promotion(reference, RUNGS3, target=100)[0].number == 0  # the reference leads nothing


def test_the_reference_never_climbs_and_nothing_climbs_past_the_target():
    trials = [trial(0, 0.99, "trial", baseline=True), trial(1, 0.5), trial(2, 0.6), trial(3, 0.4)]
    assert due_promotion(trials, RUNGS3[:2], target=100)[0].number == 2
    assert due_promotion(trials, RUNGS3[:2], target=4) is None


def test_the_final_rung_takes_the_trial_rungs_leaders_in_the_studys_last_slots():
    trials = [trial(n, 0.5 + n / 100) for n in range(9)]
    trials += [trial(9, 0.95, "trial", promoted_from=8), trial(10, 0.9, "trial", promoted_from=7),
               trial(11, 0.85, "trial", promoted_from=6)]
    assert due_promotion(trials, RUNGS3, target=40) is None  # the best 3 probes climbed; the final rung waits
    source, rung = due_promotion(trials, RUNGS3, target=13)  # one slot left: the final rung's
    assert (source.number, rung.name) == (9, "final")
    done = trials + [trial(12, None, "final", TrialState.RUNNING, promoted_from=9)]
    assert due_promotion(done, RUNGS3, target=13) is None


def test_the_final_rung_also_retrains_the_best_starting_point_so_the_gain_is_measured_there():
    trials = [trial(n, 0.5 + n / 100) for n in range(8)] + [trial(8, 0.7, starting_point="known good")]
    trials += [trial(9, 0.95, "trial", promoted_from=7), trial(10, 0.80, "trial", promoted_from=8, starting_point="known good"),
               trial(11, 0.85, "trial", promoted_from=6), trial(12, 0.9, "trial", promoted_from=5, baseline=True)]
    assert due_promotion(trials, RUNGS3, target=40) is None  # 1 leader + the starting point: the last 2 slots
    assert due_promotion(trials, RUNGS3, target=15)[0].number == 9  # two left: the leader first
    queued = trials + [trial(13, None, "final", TrialState.RUNNING, promoted_from=9)]
    source, rung = due_promotion(queued, RUNGS3, target=15)
    assert (source.number, rung.name) == (10, "final")  # then the starting point, though #11 is ahead of it
    assert due_promotion(queued + [trial(14, None, "final", TrialState.WAITING, promoted_from=10)], RUNGS3, target=15) is None
    led = [t if t.number != 10 else trial(10, 0.97, "trial", promoted_from=8, starting_point="known good") for t in trials]
    assert due_promotion(led, RUNGS3, target=15) is None  # the starting point leads: no extra slot
    assert due_promotion(led, RUNGS3, target=14)[0].number == 10


def test_a_study_is_ranked_at_its_highest_rung_and_the_reference_with_the_lowest():
    trials = [trial(0, 0.99, "trial", baseline=True), trial(1, 0.97), trial(2, 0.95, "trial", promoted_from=1),
              trial(3, 0.9, "final", promoted_from=2)]
    assert [t.number for t in ranked(trials)] == [3, 2, 0, 1]
    early = [trial(0, 0.2, "trial", baseline=True), trial(1, 0.88), trial(2, 0.85)]
    assert [t.number for t in ranked(early)] == [1, 2, 0]  # a weak reference is not the best for its rung
    legacy = [trial(0, 0.9, "trial", baseline=True), trial(1, 0.8, "trial")]
    assert [t.number for t in ranked(legacy)] == [0, 1]


def test_the_search_gain_compares_the_best_sampled_and_starting_point_at_one_rung():
    trials = [trial(0, 0.80, "trial", baseline=True), trial(1, 0.85, starting_point="known good"),
              trial(2, 0.87), trial(3, 0.70), trial(4, 0.60), trial(5, 0.50),
              trial(6, 0.90, "trial", promoted_from=2), trial(7, 0.88, "trial", promoted_from=1, starting_point="known good")]
    gain = search_gain(trials)
    assert gain["rung"] == "trial" and gain["sampled"] == (0.90, 6) and gain["start"] == (0.88, 7)
    assert gain["points"] == 2.0 and gain["error_ratio"] == pytest.approx(0.833, abs=1e-3)
    assert gain["draws"] == 4 and gain["stopped_first_rung"] == 3  # draws 2..5; only 2 climbed
    assert gain["draws_in_top3"] == 1  # #6 (from draw 2), #7 and the reference #0; #2 is #6's config
    assert search_gain(trials[:2])["rung"] is None  # no sampled config yet


def test_a_climb_queued_twice_runs_once():
    trials = [trial(3, None, "trial", TrialState.RUNNING, promoted_from=1), trial(4, None, "trial", TrialState.RUNNING, promoted_from=1)]
    assert not duplicate_climb(trials[0], trials) and duplicate_climb(trials[1], trials)
    trials[0] = trial(3, None, "trial", TrialState.FAIL, promoted_from=1)
    assert not duplicate_climb(trials[1], trials)  # the first failed: the second is the climb


def test_probes_answer_only_to_the_floor_and_rank_only_among_their_rung():
    pruner = make_pruner("median", max_epochs=4, num_classes=10)
    study = optuna.create_study(direction="maximize")
    for number in range(6):  # finished trial-rung peers, all far ahead at every step
        study.add_trial(create_trial(value=0.9, params={"x": 0.1}, distributions=DIST, user_attrs={"rung": "trial"},
                                     intermediate_values={1: 0.9, 2: 0.9}))
    probe = study.ask({"x": FloatDistribution(0, 1)})
    probe.set_user_attr("rung", "probe")
    probe.report(0.5, 1)
    probe.report(0.5, 2)
    assert not pruner.prune(study, study.get_trials()[-1])  # behind the trial rung, but a probe
    probe.report(0.1, 3)
    assert pruner.prune(study, study.get_trials()[-1])  # below twice chance (0.2): stopped whatever its rung
    climbed = study.ask({"x": FloatDistribution(0, 1)})
    climbed.set_user_attr("rung", "trial")
    climbed.report(0.5, 1)
    climbed.report(0.5, 2)
    assert pruner.prune(study, study.get_trials()[-1])  # at the trial rung it is ranked among its peers


def test_a_study_with_rungs_probes_then_climbs_and_exports_the_climb(data_dir):
    """In-process on synthetic mnist: the first configs run the probe (one epoch of a 4-epoch study),
    the best of three climbs to the trial rung with the same params, and the export ships the climb."""
    holdout = train_val_split(load_split("mnist", data_dir))
    settings = StudySettings("mnist", "mlp", max_epochs=4, pruner="none", reference=False)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    for key, value in settings.__dict__.items():
        study.set_user_attr(key, value)
    run_trials(study, Objective(settings, holdout), target=4, on_trial_end=lambda *_: promote(study, settings, 4))
    trials = study.get_trials()
    assert [t.user_attrs["rung"] for t in trials] == ["probe", "probe", "probe", "trial"]
    assert [t.user_attrs["config"]["epochs"] for t in trials] == [1, 1, 1, 4]
    best_probe = max(trials[:3], key=lambda t: t.value)
    assert trials[3].user_attrs["promoted_from"] == best_probe.number and trials[3].params == best_probe.params
    assert export_study(study, top=1)["trials"][0]["number"] == 3  # the highest rung first
    assert export_study(study, top=1)["trials"][0]["rung"] == "trial"


def test_a_probe_on_a_large_split_trains_a_fixed_share_of_the_images(data_dir):
    holdout = train_val_split(load_split("mnist", data_dir))
    settings = StudySettings("mnist", "mlp", max_epochs=2, pruner="none", reports_per_epoch=3)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    run_trials(study, Objective(settings, holdout), target=2)
    first, second = study.get_trials()
    share = round(len(holdout.train_labels) / 3)
    assert first.user_attrs["train_images"] == second.user_attrs["train_images"] == share
    assert list(first.intermediate_values) == [1]  # one report: the probe's one epoch on its share


def test_a_long_study_says_where_it_stands_and_names_its_objective(tmp_path):
    from datetime import datetime, timedelta

    from tuning.study.progress import where_it_stands
    from tuning.study.lifecycle import create_or_resume

    begun = datetime.now() - timedelta(minutes=10)
    trials = [create_trial(value=0.5, params={"x": 0.1}, distributions=DIST) for _ in range(4)]
    for made in trials:
        made.datetime_start = begun
    line = where_it_stands(trials, target=20)
    assert line.startswith("  [4/20, 10.0 min, about 40 min left]")  # 2.5 min a trial, 16 to go
    died = create_trial(state=TrialState.FAIL, params={"x": 0.1}, distributions=DIST)
    died.datetime_start = begun - timedelta(days=1)  # its worker killed yesterday, found silent today
    assert where_it_stands([died, *trials], target=20).startswith("  [4/20, 10.0 min, about 40 min left]")
    assert where_it_stands([], target=20) == ""
    study = create_or_resume(f"sqlite:///{tmp_path}/s.db", "emnist-mnist-mlp", StudySettings("mnist", "mlp", max_epochs=1),
                             {"f": "0"}, 2)
    assert study.metric_names == ["val_accuracy"]  # the dashboard's plots say so, not "Objective 0"


def test_the_time_left_counts_the_final_rungs_slots_at_their_own_length():
    """Trials so far cost 1 min per 1000 images trained (probes on a third, trials on all 3000 for
    3 epochs); 4 trials to go, all of them final-rung slots of 10 epochs (final_slots(100) = 3 leaders
    of the trial rung, plus the best starting point, which is not among them): 4 x 10 x 3000 images
    = 120 min, not the 4 x mean trial of a flat average. The slots are those due_promotion fills."""
    from datetime import datetime, timedelta

    from tuning.study.progress import where_it_stands

    def study(starting_point: int, count: int = 96):
        begun = datetime.now()
        trials, at = [], begun
        for number in range(count):
            probe = number % 3 != 2
            made = trial(number, 0.5 + number / 1000, "probe" if probe else "trial", epochs_run=1 if probe else 3,
                         train_images=1000 if probe else 3000,
                         **({"starting_point": "known-good 1"} if number == starting_point else {}))
            made.datetime_start, at = at, at + timedelta(minutes=1 if probe else 9)
            made.datetime_complete = at
            trials.append(made)
        return trials, at, (at - begun).total_seconds() / 60

    rungs = (Rung("probe", 1, 1 / 3), Rung("trial", 3), Rung("final", 10))
    trials, at, elapsed = study(starting_point=2)  # the trial rung's weakest config
    assert where_it_stands(trials, 100, rungs) == f"  [96/100, {elapsed:.1f} min, about 120 min left]"
    assert where_it_stands(trials, 100).endswith(f"about {elapsed / 96 * 4:.0f} min left]")  # no ladder known: the mean
    final = trial(96, 0.9, "final", epochs_run=10, train_images=3000, promoted_from=95)
    final.datetime_start, final.datetime_complete = at, at + timedelta(minutes=30)
    assert where_it_stands([*trials, final], 100, rungs).endswith("about 90 min left]")  # 3 slots to go
    led, _, _ = study(starting_point=95)  # the starting point leads the trial rung: no extra slot,
    assert [t.number for t in final_climbers(led, "trial", 100)] == [95, 92, 89]
    assert where_it_stands(led, 100, rungs).endswith("about 94 min left]")  # 3 x 30 min and one trial at the mean (3.7)
    assert where_it_stands(study(starting_point=0)[0], 100, rungs).endswith("about 94 min left]")  # a probe only
    early, _, elapsed = study(starting_point=0, count=6)  # two trial-rung configs so far: who leads is not known yet
    owed = 4 * 10 * 3000 + 90 * (4 * 1000 + 2 * 9000) / 6  # final_slots + 1, then 90 trials at the mean so far
    assert where_it_stands(early, 100, rungs).endswith(f"about {elapsed / 22000 * owed:.0f} min left]")


def test_a_studys_run_time_leaves_out_the_pause_between_two_runs():
    """`tune status` and study_summary's wall time: first start to last end, less a gap of over ten
    minutes with no trial running (a study resumed the next day); gaps between trials and overlapping
    workers count once."""
    from datetime import datetime, timedelta
    from types import SimpleNamespace

    from tuning.study.progress import busy_seconds

    day = datetime(2026, 12, 5, 12, 0)

    def trial(start_min, end_min, state=TrialState.COMPLETE, attrs=None):
        return SimpleNamespace(datetime_start=day + timedelta(minutes=start_min), datetime_complete=day + timedelta(minutes=end_min),
                               state=state, user_attrs=attrs or {})

    first_run = [trial(0, 10), trial(10.5, 20), trial(15, 30)]  # a short gap, two workers overlapping
    next_day = [trial(24 * 60, 24 * 60 + 5), SimpleNamespace(datetime_start=day, datetime_complete=None)]  # one still running
    assert busy_seconds(first_run) == 30 * 60
    assert busy_seconds(first_run + next_day) == 35 * 60
    assert busy_seconds([]) == 0.0
    died = trial(25, 24 * 60 + 1, TrialState.FAIL)  # killed in the first run, found silent the next day
    assert busy_seconds(first_run + next_day + [died]) == 35 * 60
    out_of_memory = trial(30, 40, TrialState.FAIL, {"fail_reason": "out of memory"})  # failed, but ran
    assert busy_seconds(first_run + [out_of_memory]) == 40 * 60
