"""`tune benchmark`: the whole path on synthetic data, resume, reload, and bad exports."""

import csv
import json
import sys

import keras
import pytest

from data_pipeline import load_split
from tests.conftest import REPO, assert_one_line_error, run_tune


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from data_pipeline.synthetic import write_split

    folder = tmp_path_factory.mktemp("bench")
    write_split(folder / "data", "mnist", train_per_class=12, test_per_class=4)
    for args in (["start", "--split", "mnist", "--model", "mlp", "--trials", "2", "--max-epochs", "2", "--data-dir", "data"],
                 ["export", "--split", "mnist", "--model", "mlp"]):
        result = run_tune(*args, cwd=folder)
        assert result.returncode == 0, result.stderr
    return folder


def bench(folder, *extra):
    """Every model, two seeds; VGG16 on the fixed random base (no ImageNet weights offline)."""
    return run_tune("benchmark", "--splits", "mnist", "--models", "tuned,cnn,mlp,vgg16", "--weights", "random",
                    "--schedule", "trial", "--seeds", "2", "--epochs", "1", "--data-dir", "data", *extra, cwd=folder, timeout=600,
                    env={"KERAS_HOME": str(folder / "keras")})


@pytest.mark.slow
def test_benchmark_writes_the_report_keeps_models_and_resumes(exported):
    first = bench(exported)
    assert first.returncode == 0, first.stderr
    report = (exported / "reports" / "benchmark.md").read_text()
    for model in ("tuned-mlp", "baseline-cnn", "baseline-mlp", "baseline-vgg16"):
        assert f"| mnist | {model} |" in report
    assert "| mnist | baseline-cnn, original (Colab, full release) | 4.47 | 99.50" in report
    assert "test set is used only here" in report
    assert "- VGG16 base: **not ImageNet's**: a fixed random base (seed 0, `--weights random`)" in report  # said once
    assert "the frozen base's pass at its measured rate" in report
    assert "Cells from more than one run" not in report
    assert "| mnist, original (Colab) | 1.62 / 1.76 / 1.78 |" in report
    rows = list(csv.DictReader(open(exported / "reports" / "benchmark.csv")))
    mean = {model: sum(float(r["test_accuracy"]) for r in rows if r["model"] == model) / 2 for model in {r["model"] for r in rows}}
    for baseline, named in (("baseline-cnn", "the original study's CNN"), ("baseline-mlp", "the MLP baseline"),
                            ("baseline-vgg16", "the VGG16 head")):  # every baseline compared, and the verdict is the numbers'
        word = "beats" if mean["tuned-mlp"] > mean[baseline] else "does NOT beat"
        assert f"{word} {named} ({mean['tuned-mlp'] * 100:.2f}% vs {mean[baseline] * 100:.2f}%" in report, (word, named)
    assert sorted((r["model"], r["seed"]) for r in rows) == sorted(
        (m, s) for m in ("tuned-mlp", "baseline-cnn", "baseline-mlp", "baseline-vgg16") for s in ("0", "1"))
    for name in ("accuracy_vs_fit_time.png", "learning_curves.png"):
        assert (exported / "reports" / name).read_bytes()[:4] == b"\x89PNG"

    manifest = json.loads((exported / "reports" / "cells" / "mnist-tuned-mlp-seed0.json").read_text())
    assert manifest["config"]["family"] == "mlp" and manifest["seed"] == 0 and manifest["data_checksums"]
    model = keras.saving.load_model(exported / "reports" / "cells" / "mnist-tuned-mlp-seed0.keras")
    data = load_split("mnist", exported / "data")
    _, accuracy = model.evaluate(data.test_images, data.test_labels, verbose=0)
    assert accuracy == pytest.approx(manifest["metrics"]["test_accuracy"], abs=1e-6)
    vgg16_cells_trained_on_cached_features(exported, data)

    cells = exported / "reports" / "cells"
    (cells / "mnist-baseline-mlp-seed1.json").unlink()  # as if killed mid-run
    (cells / "mnist-baseline-vgg16-seed1.keras").unlink()  # as shipped in git: manifests only
    damaged_cells_stop_the_run_and_are_kept(exported, cells)
    for part in (".json", ".keras"):  # deleted as the error says: that cell is retrained
        (cells / f"mnist-baseline-cnn-seed0{part}").unlink()
    again = bench(exported)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("kept from an earlier run") == 6
    assert "baseline-vgg16   seed 1: kept from an earlier run (its manifest; the model file is not here)" in again.stdout
    assert "baseline-mlp     seed 1: test" in again.stdout and "baseline-cnn     seed 0: test" in again.stdout
    assert "Cells from more than one run (mnist: " in (exported / "reports" / "benchmark.md").read_text()  # 6 kept, 2 new


def damaged_cells_stop_the_run_and_are_kept(folder, cells):
    """A cell file the rerun would read back, damaged: one line naming it before anything trains,
    every file as it was."""
    model = cells / "mnist-baseline-cnn-seed0.keras"
    manifest = cells / "mnist-tuned-mlp-seed1.json"
    whole = {path: path.read_bytes() for path in (model, manifest)}

    def edited(**changes):
        document = json.loads(whole[manifest])
        document["metrics"] |= changes.pop("metrics", {})
        return json.dumps(document | changes).encode()

    cases = [
        (model, whole[model][:-100], "mnist-baseline-cnn-seed0.keras: does not match its manifest's sha256"),
        (manifest, whole[manifest][:50], "mnist-tuned-mlp-seed1.json: not a benchmark cell manifest"),
        (manifest, b"[]", "(not a JSON object)"),
        (manifest, edited(metrics={"test_accuracy": 7}), "'test_accuracy' is 7, above 1"),
        (manifest, edited(metrics={"fit_seconds": "fast"}), "'fit_seconds' missing or not a number"),
        (manifest, edited(seed=0), "the manifest of mnist tuned-mlp seed 0"),
        (manifest, edited(config=None), "'config' missing or not a dict"),
    ]
    for path, spoiled, fragment in cases:
        path.write_bytes(spoiled)
        before = {p.name: p.read_bytes() for p in cells.iterdir()}
        result = bench(folder)
        assert_one_line_error(result, fragment, "delete")
        assert {p.name: p.read_bytes() for p in cells.iterdir()} == before, fragment
        path.write_bytes(whole[path])


@pytest.mark.slow
def test_a_refit_row_trains_the_final_config_on_training_and_validation_images(exported, tmp_path):
    """`--schedule final,refit` (the default): the -refit row learns from train + validation for its whole schedule;
    the report takes its held-out validation figure from the -final row, and says so."""
    out = tmp_path / "refit"
    result = run_tune("benchmark", "--splits", "mnist", "--models", "tuned", "--seeds", "1",  # final,refit: the default
                      "--out", str(out), "--data-dir", "data", cwd=exported, timeout=600)
    assert result.returncode == 0, result.stderr
    final, refit = (json.loads((out / "cells" / f"mnist-tuned-mlp-{row}-seed0.json").read_text()) for row in ("final", "refit"))
    holdout = load_split("mnist", exported / "data")
    assert final["metrics"]["train_images"] + len(holdout.test_labels) == refit["metrics"]["train_images"] == len(holdout.train_labels)
    assert refit["config"] == final["config"] and refit["metrics"]["epochs"] == refit["config"]["epochs"] == 10
    report = (out / "benchmark.md").read_text()
    assert (f"- mnist: tuned-mlp-refit: validation {final['metrics']['val_accuracy'] * 100:.2f}% (its -final row's" in report)
    assert "`-refit` rows" in report
    test = refit["metrics"]["test_accuracy"]
    assert f"| mnist | tuned-mlp-refit | {test * 100:.2f} | not in this run | not in this run | none | " \
           f"{(final['metrics']['val_accuracy'] - test) * 100:+.2f} |" in report  # the shipped models' table
    for bad in ("final,later", "both", "final,final", ","):  # a name that is not a schedule, "both" among them: one line
        assert_one_line_error(run_tune("benchmark", "--schedule", bad, cwd=exported), f"{bad!r}: give distinct schedules")


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("{not json", "not a JSON export"),
        ('{"trials": []}', "not a tune export"),
        ('{"split": "mnist", "model": "mlp", "trials": [{"number": 1, "config": {"family": "mlp", "num_classes": 10, "unitz": [8]}}]}',
         "unknown key 'unitz'"),
        ('{"split": "mnist", "model": "mlp", "trials": [{"config": {"family": "mlp", "num_classes": 5, "units": [8]}}]}',
         "num_classes 5, but mnist has 10 classes"),
        ('{"split": "mnist", "model": "mlp", "trials": [{"config": {"family": "mlp", "num_classes": 10, "units": [1e300]}}]}',
         "out of range"),
        ('{"split": "mnist", "model": "mlp", "trials": [{"config": {"family": "mlp", "num_classes": 10, "units": [100000000000000000000000]}}]}',
         "out of range"),
        ('{"split": "mnist", "model": "mlp", "trials": [{"config": {"family": "mlp", "num_classes": 10, "units": ["wide"]}}]}',
         "must be a whole number"),
        ('{"split": "mnist", "model": "mlp", "trials": [7]}', "trial entry 0 is not an object"),
    ],
)
@pytest.mark.slow
def test_bad_export_files_are_one_line_and_write_nothing(exported, tmp_path, content, fragment):
    bad = tmp_path / "mnist-mlp.json"
    bad.write_text(content)
    result = run_tune("benchmark", "--splits", "mnist", "--from", str(bad), "--out", str(tmp_path / "out"),
                      "--data-dir", str(exported / "data"), cwd=exported)
    assert_one_line_error(result, fragment)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_benchmark_without_exports_says_how_to_make_them(exported, tmp_path):
    result = run_tune("benchmark", "--splits", "mnist", "--from", str(tmp_path), "--out", str(tmp_path / "out"),
                      "--data-dir", str(exported / "data"), cwd=exported)
    assert_one_line_error(result, "no exported configs for mnist", "tune export --split mnist")
    assert_one_line_error(run_tune("benchmark", "--models", "tuned,rnn", cwd=exported), "unknown model 'rnn'")


def test_verdicts_say_what_a_comparison_lacks():
    from tuning.benchmark.verdicts import verdicts

    def stats(accuracy):
        return {"test_accuracy": (accuracy, 0.01, 2), "epochs": (3, 0, 2)}

    assert "no baseline in this run" in verdicts({("mnist", "tuned-cnn"): stats(0.95)})[0]
    assert "no tuned model in this run" in verdicts({("mnist", "baseline-cnn"): stats(0.90)})[0]
    line = verdicts({("mnist", "tuned-cnn"): stats(0.95), ("mnist", "baseline-cnn"): stats(0.90),
                     ("mnist", "baseline-mlp"): stats(0.96)})[0]
    assert "tuned-cnn beats the original study's CNN (95.00% vs 90.00%, test error 0.50x)" in line
    assert "does NOT beat the MLP baseline (95.00% vs 96.00%, test error 1.25x)" in line
    assert "near chance" not in line
    untrained = verdicts({("mnist", "tuned-cnn"): stats(0.89), ("mnist", "baseline-cnn"): stats(0.15)})[0]
    assert "did not train in 3 epochs (near chance)" in untrained


def test_the_untuned_default_is_trained_like_the_tuned_model_and_compared_with_it(tmp_path):
    """`--models default`: the family's first known-good config with the tuned config's classes and
    epochs, and its '-final' row; the verdict of each tuned row names it, schedule with schedule."""
    from data_pipeline import SPLITS
    from tuning.families import FAMILIES
    from tuning.benchmark.cells import model_configs
    from tuning.benchmark.verdicts import verdicts

    shipped = REPO / "studies" / "best" / "byclass-cnn.json"  # a 4-epoch trial: the final policy differs
    tuned = json.loads(shipped.read_text())["trials"][0]["config"]
    configs = model_configs(SPLITS["byclass"], ("default",), shipped, None, None, ("trial", "final"))
    assert set(configs) == {"default-cnn", "default-cnn-final"}  # no tuned row unless asked
    by_default = model_configs(SPLITS["byclass"], ("tuned", "default"), shipped, None, None)  # final,refit
    assert set(by_default) == {f"{row}-{schedule}" for row in ("tuned-cnn", "default-cnn") for schedule in ("final", "refit")}
    assert by_default["default-cnn-refit"] == configs["default-cnn-final"]  # refit: the final policy on more images
    default = configs["default-cnn"]
    assert default["epochs"] == tuned["epochs"] and default["num_classes"] == 62 and configs["default-cnn-final"]["epochs"] == 10
    known = FAMILIES["cnn"].known_good[0]
    assert default["filters"] == [32, 64, 128] and default["learning_rate"] == known["learning_rate"]
    assert set(model_configs(SPLITS["byclass"], ("tuned", "default"), shipped, None, None, ("trial",))) == {"tuned-cnn", "default-cnn"}

    def stats(accuracy):
        return {"test_accuracy": (accuracy, 0.01, 2), "epochs": (3, 0, 2)}

    lines = verdicts({("mnist", "tuned-cnn"): stats(0.96), ("mnist", "default-cnn"): stats(0.95),
                      ("mnist", "tuned-cnn-final"): stats(0.97), ("mnist", "default-cnn-final"): stats(0.98)})
    assert "tuned-cnn beats the untuned default (default-cnn) (96.00% vs 95.00%, test error 0.80x)" in lines[0]
    assert "tuned-cnn-final does NOT beat the untuned default (default-cnn-final)" in lines[1]


def test_the_report_states_each_tuned_models_validation_test_gap_and_flags_one_over_a_point():
    from tuning.benchmark.verdicts import generalization_lines

    def stats(val, test):
        return {"val_accuracy": (val, 0.0, 3), "test_accuracy": (test, 0.0, 3)}

    lines = generalization_lines({("byclass", "tuned-cnn"): stats(0.8669, 0.8668), ("mnist", "tuned-mlp"): stats(0.99, 0.975),
                                  ("mnist", "baseline-cnn"): stats(0.99, 0.90)})
    assert lines == ["- byclass: tuned-cnn: validation 86.69%, test 86.68%, gap +0.01 pt",
                     "- mnist: tuned-mlp: validation 99.00%, test 97.50%, gap +1.50 pt: over 1 pt, the config fits "
                     "the validation images better than new ones"]  # baselines were not chosen on validation


def test_the_shipped_table_takes_each_splits_refit_row_and_judges_it_against_the_right_rows():
    """One row per split and tuned model: the -refit row where there is one (its validation from the
    -final row, which did not train on it), else -final, else the trial's; ratios of test error
    against the original CNN and the untuned default of the same schedule; the ensemble against the
    single model of its own schedule."""
    from tuning.benchmark.verdicts import shipped_table

    def stats(test, val=0.0, seconds=1.0):
        return {"test_accuracy": (test, 0.0, 3), "val_accuracy": (val, 0.0, 3), "test_seconds": (seconds, 0.0, 3)}

    rows = shipped_table({
        ("mnist", "tuned-cnn-final"): stats(0.990, val=0.995), ("mnist", "tuned-cnn-refit"): stats(0.992, val=1.0),
        ("mnist", "default-cnn-refit"): stats(0.984), ("mnist", "default-cnn-final"): stats(0.5),
        ("mnist", "baseline-cnn"): stats(0.980), ("mnist", "tuned-cnn-ensemble-final"): stats(0.991, seconds=3.0),
        ("letters", "tuned-mlp"): stats(0.90, val=0.92), ("letters", "baseline-mlp"): stats(0.80),
    })
    assert rows[2:] == [
        "| letters | tuned-mlp | 90.00 | not in this run | not in this run | none | +2.00 |",
        "| mnist | tuned-cnn-refit | 99.20 | 0.40x | 0.50x | 0.90x, 3.0x (tuned-cnn-final) | +0.30 |",
    ]
    assert shipped_table({("mnist", "baseline-cnn"): stats(0.98)}) == []  # no tuned row: no table


def vgg16_cells_trained_on_cached_features(folder, data):
    """The frozen base is the same for every seed: its features are computed once (train, validation,
    test), the head trains and is evaluated on them as in a trial, and the cell keeps the whole model,
    which gives the same accuracy."""
    import models  # noqa: F401  (registers the VGG16 input layer, as the report says to)

    assert (folder / "keras" / "models" / "vgg16-random-seed0-notop.weights.h5").is_file()
    manifests = [json.loads((folder / "reports" / "cells" / f"mnist-baseline-vgg16-seed{k}.json").read_text()) for k in (0, 1)]
    assert manifests[0]["metrics"]["feature_seconds"] > 0 and manifests[1]["metrics"]["feature_seconds"] == 0
    assert all(m["metrics"]["test_seconds"] > m["metrics"]["base_ms_per_image"] * 40 / 1000 > 0 for m in manifests)
    model = keras.saving.load_model(folder / "reports" / "cells" / "mnist-baseline-vgg16-seed0.keras")
    assert model.get_layer("vgg16") is not None  # the whole model, base included
    _, accuracy = model.evaluate(data.test_images, data.test_labels, verbose=0)
    assert accuracy == pytest.approx(manifests[0]["metrics"]["test_accuracy"], abs=0.026)  # float16 features: one image of 40


def test_the_report_says_which_vgg16_base_each_run_used():
    from tuning.benchmark.report import vgg16_bases

    def cell(**weights):
        return {"config": {"family": "vgg16", **weights}, "metrics": {}}

    assert vgg16_bases([{"config": {"family": "cnn"}, "metrics": {}}]) == []
    assert "**not ImageNet's**: random initialisation" in vgg16_bases([cell(weights=None)])[0]
    assert "ImageNet's (Keras' VGG16 no-top weights)" in vgg16_bases([cell(weights="imagenet")])[0]
    assert "`/w/v.h5`" in vgg16_bases([cell(weights="imagenet", weights_path="/w/v.h5")])[0]
    assert len(vgg16_bases([cell(weights="random"), cell(weights="random")])) == 1  # said once


@pytest.mark.slow
def test_a_vgg16_without_weights_is_skipped_and_the_rest_is_benchmarked(exported, tmp_path):
    """No ImageNet file and no internet: the VGG16 row says how to get the weights; the MLP still runs."""
    out = tmp_path / "report"
    result = run_tune("benchmark", "--splits", "mnist", "--models", "mlp,vgg16", "--seeds", "1", "--epochs", "1",
                      "--data-dir", "data", "--out", str(out), cwd=exported, env={"KERAS_HOME": str(tmp_path / "keras")})
    assert result.returncode == 0, result.stderr
    assert "mnist baseline-vgg16: skipped: VGG16 ImageNet weights not found" in result.stdout
    report = (out / "benchmark.md").read_text()
    assert "## Skipped" in report and "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" in report
    assert {row["model"] for row in csv.DictReader(open(out / "benchmark.csv"))} == {"baseline-mlp"}
    only_vgg = run_tune("benchmark", "--splits", "mnist", "--models", "vgg16", "--data-dir", "data", "--out", str(out),
                        cwd=exported, env={"KERAS_HOME": str(tmp_path / "keras")})
    assert_one_line_error(only_vgg, "nothing to benchmark")


def tuner_comparison():
    import importlib.util

    spec = importlib.util.spec_from_file_location("tuner_comparison", REPO / "benchmarks" / "tuner_comparison.py")
    comparison = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(comparison)
    return comparison


def test_the_tuner_race_curve_counts_only_finished_trials_within_the_budget():
    from datetime import datetime, timedelta
    from types import SimpleNamespace

    begin = datetime(2026, 12, 4, 12, 0, 0)
    trial = lambda seconds, value: SimpleNamespace(  # noqa: E731
        datetime_complete=begin + timedelta(seconds=seconds) if seconds is not None else None, value=value)
    trials = [trial(300, 0.84), trial(90, 0.80), trial(None, None), trial(200, None), trial(650, 0.90), trial(400, 0.82)]
    assert tuner_comparison().curve_of(trials, begin, budget=600) == [(90, 0.80), (200, 0.80), (300, 0.84), (400, 0.84)]


def test_the_tuner_race_run_seed_by_seed_is_reported_whole(tmp_path, monkeypatch):
    """A race run on another machine or day for seeds 0,1 and now for 1,2: seed 0's runs are kept from
    results.json, seed 1's folder here is rerun from it, seed 2 runs, engines in reversed order on odd
    seeds; a results file of another race (another budget) keeps nothing."""
    from data_pipeline.synthetic import write_split

    comparison = tuner_comparison()
    write_split(tmp_path / "data", "balanced", train_per_class=2, test_per_class=1)
    engines = list(comparison.ENGINES)
    earlier = {"split": "balanced", "budget": 600, "max_epochs": 8, "reference": 0.8, "references": {"0": 0.79, "1": 0.81},
               "runs": [{"engine": e, "seed": s, "curve": [[100, 0.85]], "best": 0.85, "test": 0.84, "trials": 1, "search": None}
                        for s in (0, 1) for e in engines]}
    (tmp_path / "results.json").write_text(json.dumps(earlier))
    (tmp_path / "optuna-seed1").mkdir()  # this machine ran seed 1's optuna: its folder, not results.json, is the truth
    ran = []
    monkeypatch.setattr(comparison, "run", lambda engine, seed, opts, out: ran.append((engine, seed)) or {
        "engine": engine, "seed": seed, "curve": [[50, 0.86]], "best": 0.86, "test": 0.85, "trials": 1, "search": None})
    monkeypatch.setattr(comparison, "reference", lambda seed, opts, out: 0.80)
    race = ["tuner_comparison.py", "--seeds", "1,2", "--out", str(tmp_path), "--data-dir", str(tmp_path / "data")]
    monkeypatch.setattr(sys, "argv", race)
    comparison.main()
    assert ran == [("optuna", 1), *((e, 2) for e in engines)]
    document = json.loads((tmp_path / "results.json").read_text())
    assert sorted((r["engine"], r["seed"]) for r in document["runs"]) == sorted((e, s) for s in (0, 1, 2) for e in engines)
    assert {int(k): v for k, v in document["references"].items()} == {0: 0.79, 1: 0.81, 2: 0.80}
    assert document["reference"] == pytest.approx((0.79 + 0.81 + 0.80) / 3)
    ran.clear()
    monkeypatch.setattr(sys, "argv", [*race[:2], "3", *race[3:], "--budget", "300"])
    comparison.main()
    assert ran == [(e, 3) for e in engines[::-1]]
    assert {r["seed"] for r in json.loads((tmp_path / "results.json").read_text())["runs"]} == {3}


@pytest.mark.slow
def test_the_tuner_race_bookkeeping_times_never_and_wins():
    comparison = tuner_comparison()
    run = lambda engine, seed, curve, test: {"engine": engine, "seed": seed, "curve": curve,  # noqa: E731
                                            "best": curve[-1][1] if curve else 0.0, "test": test}
    runs = [
        run("optuna", 0, [(80, 0.79), (100, 0.85), (500, 0.86)], 0.85),
        run("kerastuner-hyperband", 0, [(250, 0.84)], 0.83),
        run("kerastuner-bayesian", 0, [(150, 0.79), (400, 0.85)], 0.86),
        run("optuna", 1, [(120, 0.81)], 0.80),
        run("kerastuner-hyperband", 1, [(300, 0.79)], 0.79),  # never beats 0.80: counts as the whole budget
        run("kerastuner-bayesian", 1, [(200, 0.83)], 0.82),
        run("optuna", 2, [(90, 0.86)], 0.85),  # no KerasTuner run for seed 2: not compared
    ]
    assert comparison.first_beat(runs[0]["curve"], 0.80) == 100 and comparison.first_beat(runs[4]["curve"], 0.80) is None
    found = comparison.compare(runs, "optuna", target=0.80, budget=600)
    assert found["seeds"] == [0, 1]
    assert found["median_time_to_beat"] == {"optuna": 110, "kerastuner-hyperband": 425, "kerastuner-bayesian": 300}
    assert found["never_beat"] == {"optuna": 0, "kerastuner-hyperband": 1, "kerastuner-bayesian": 0}
    assert found["ratio"]["kerastuner-bayesian"] == pytest.approx(110 / 300)
    assert found["best_above_both"] == 1  # seed 0 (0.86 > 0.85); seed 1 (0.81 < 0.83) is a loss
    assert (found["test_at_least_better_rival"], found["tested_seeds"]) == (0, 2)
    text = comparison.summary(runs, 0.80, 600)
    assert "final best above both KerasTuner runs in 1 of 2 seeds" in text and "(1 never)" in text
    assert "cold" not in text  # no optuna-cold run: no cold row


@pytest.mark.slow
def test_an_ensemble_export_rebuilds_and_is_benchmarked_beside_its_single_model_under_both_schedules(tmp_path):
    import models
    from data_pipeline.synthetic import write_split

    write_split(tmp_path / "data", "mnist", train_per_class=12, test_per_class=4)
    for args in (["start", "--split", "mnist", "--model", "mlp", "--trials", "3", "--max-epochs", "2", "--data-dir", "data"],
                 ["export", "--split", "mnist", "--model", "mlp", "--top", "1"],
                 ["export", "--split", "mnist", "--model", "mlp", "--ensemble", "2"]):
        result = run_tune(*args, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    assert "an ensemble of 2 -> studies/best/mnist-mlp-ensemble.json" in result.stdout
    document = json.loads((tmp_path / "studies/best/mnist-mlp-ensemble.json").read_text())
    ensemble, *members = document["trials"]
    assert ensemble["members"] == [member["number"] for member in members]
    assert [member["config"] for member in members] == ensemble["config"]["members"]
    assert ensemble["final_config"]["members"][0]["epochs"] == 10  # the final policy: the original's 10 epochs
    assert ensemble["config"]["selection"] == "greedy"  # weighed on validation once trained
    assert models.build(ensemble["config"]).output_shape == (None, 10)  # no Optuna needed

    bench = run_tune("benchmark", "--splits", "mnist", "--models", "tuned", "--schedule", "trial,final", "--seeds", "1",
                     "--data-dir", "data", cwd=tmp_path, timeout=600)
    assert bench.returncode == 0, bench.stderr
    rows = {row["model"]: row for row in csv.DictReader(open(tmp_path / "reports" / "benchmark.csv"))}
    assert set(rows) == {"tuned-mlp", "tuned-mlp-final", "tuned-mlp-ensemble", "tuned-mlp-ensemble-final"}
    assert float(rows["tuned-mlp-ensemble"]["epochs"]) <= 4 < float(rows["tuned-mlp-ensemble-final"]["epochs"])
    report = (tmp_path / "reports" / "benchmark.md").read_text()
    assert "- mnist: tuned-mlp-ensemble: test error" in report and "x its time per image" in report
    manifest = json.loads((tmp_path / "reports" / "cells" / "mnist-tuned-mlp-ensemble-seed0.json").read_text())
    assert manifest["config"]["family"] == "ensemble" and len(manifest["config"]["weights"]) == 2
    assert sum(manifest["config"]["weights"]) > 0  # the selection's counts, recorded with the cell
    reloaded = keras.saving.load_model(tmp_path / "reports" / "cells" / "mnist-tuned-mlp-ensemble-seed0.keras")
    data = load_split("mnist", tmp_path / "data")
    _, accuracy = reloaded.evaluate(data.test_images, data.test_labels, verbose=0)
    assert accuracy == pytest.approx(manifest["metrics"]["test_accuracy"], abs=1e-6)


def test_greedy_selection_weighs_members_by_what_they_add_on_validation():
    import numpy as np

    from tuning.benchmark.ensembles import greedy_weights

    labels = np.array([0, 1, 2, 0, 1, 2])
    eye = np.eye(3)

    def member(right: list[int]):  # confident and right on those images, confidently wrong elsewhere
        return np.array([eye[label] * 0.9 + 0.05 if i in right else eye[(label + 1) % 3] * 0.9 + 0.05
                         for i, label in enumerate(labels)])

    strong, hurts = member([0, 1, 2, 3, 4]), member([])
    assert greedy_weights([strong, hurts], labels) == [1, 0]  # a member that only hurts is left out
    left, right, middle = member([0, 1, 2, 3]), member([2, 3, 4, 5]), member([0, 1, 4, 5])
    weights = greedy_weights([left, right, middle], labels)
    assert all(weights) and len(set(weights)) == 1  # three that cover each other's mistakes: all alike


def test_a_weighted_ensemble_averages_by_its_weights_and_leaves_out_members_of_weight_0():
    import numpy as np

    import models

    config = {"family": "ensemble", "num_classes": 10, "selection": "greedy", "weights": [3, 1, 0],
              "members": [models.baseline_config("mlp", "mnist", 10, epochs=1)] * 3}
    model = models.build(config)
    members = [layer for layer in model.layers if layer.name.startswith("member")]
    assert [layer.name for layer in members] == ["member0", "member1"]
    images = np.random.default_rng(0).integers(0, 255, (4, 28, 28), dtype=np.uint8)
    joined = np.asarray(model(images))
    expected = 0.75 * np.asarray(members[0](images)) + 0.25 * np.asarray(members[1](images))
    np.testing.assert_allclose(joined, expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(models.ConfigError, match="weights must be 3 counts"):
        models.build({**config, "weights": [1, 1]})
