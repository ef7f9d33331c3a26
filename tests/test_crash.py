"""Kills, signals and bad input: a study is never lost or corrupted, nothing is half-written."""

import json
import os
import signal
import subprocess
import time

import optuna
import pytest
from optuna.trial import TrialState

from data_pipeline.splits import SPLITS
from data_pipeline.synthetic import write_idx_gz, write_split
from tests.storages import opened
from tests.conftest import assert_one_line_error, copy_study, run_tune, snapshot, tune_command

import numpy as np

KILL_REPEATS = int(os.environ.get("KILL_REPEATS", "1"))
FAST_HEARTBEAT = {"TUNE_HEARTBEAT_SECONDS": "1", "TUNE_GRACE_SECONDS": "4"}


def as_from_a_terminal():
    """A test run in the background of a script inherits SIGINT ignored (POSIX, no job control), and so
    would `tune`, which then never sees Ctrl-C: give the child the default a terminal gives."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def spawn(args, cwd, env=None):
    return subprocess.Popen([*tune_command(), *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})},
                            preexec_fn=as_from_a_terminal)


def wait_for(predicate, timeout=180, every=0.3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("timed out waiting")


def running_trial_of(storage, name, pid=None):
    """A RUNNING trial of worker `pid` (None: of any) that has reported at least one epoch (it is mid-fit)."""
    try:
        trials = optuna.load_study(study_name=name, storage=opened(storage)).get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    except Exception:
        return None
    return next((t for t in trials if t.intermediate_values and (pid is None or t.user_attrs.get("worker", "").endswith(f":{pid}"))),
                None)


@pytest.mark.slow
@pytest.mark.parametrize("attempt", range(KILL_REPEATS))
def test_sigkilled_worker_trial_is_failed_and_retried(storage_url, tmp_path, data_dir, attempt):
    name, target = "emnist-mnist-cnn", 3
    base = ["--storage", storage_url, "--data-dir", str(data_dir)]
    created = run_tune("start", "--split", "mnist", "--trials", "1", "--max-epochs", "30", "--pruner", "none", *base,
                       cwd=tmp_path, env=FAST_HEARTBEAT)
    assert created.returncode == 0, created.stderr
    worker_args = ["worker", "--study", name, "--trials", str(target), *base]
    victim = spawn(worker_args, tmp_path, FAST_HEARTBEAT)
    survivor = spawn(worker_args, tmp_path, FAST_HEARTBEAT)
    killed = wait_for(lambda: running_trial_of(storage_url, name, victim.pid))
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    _, err = survivor.communicate(timeout=600)
    assert survivor.returncode == 0, err
    trials = optuna.load_study(study_name=name, storage=opened(storage_url)).get_trials()
    by_number = {t.number: t for t in trials}
    finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    zombies = [t for t in trials if t.state == TrialState.RUNNING]
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == killed.number]
    print(f"kill attempt {attempt}: killed trial #{killed.number}, {len(finished)}/{target} finished, "
          f"{len(zombies)} left RUNNING, retried as {[t.number for t in retries]}")
    assert by_number[killed.number].state == TrialState.FAIL
    assert len(finished) == target and not zombies
    assert retries and retries[0].state in (TrialState.COMPLETE, TrialState.PRUNED)
    assert retries[0].params == killed.params


# the resume after either signal is the same code path (the failed trial retried, the queue kept), so
# it runs once, after SIGTERM: what `docker stop` and Kubernetes send
@pytest.mark.slow
@pytest.mark.parametrize("sig, code, resume", [(signal.SIGTERM, 143, True), (signal.SIGINT, 130, False)])
def test_signal_during_a_trial_records_it_and_the_next_start_resumes(tmp_path, sig, code, resume):
    # enough images that the first trial (the big CNN, up to 40 epochs) runs for a minute: on the tiny
    # default data a whole 2-trial study took 13 s and could end before we saw a trial running; not
    # more, since the resumed study trains its 2 trials on them too
    data_dir = tmp_path / "emnist"
    write_split(data_dir, "mnist", train_per_class=100, test_per_class=20)
    args = ["start", "--split", "mnist", "--model", "cnn", "--trials", "2", "--max-epochs", "40", "--pruner", "none",
            "--data-dir", str(data_dir)]
    process = spawn(args, tmp_path)
    storage = f"sqlite:///{tmp_path / 'studies' / 'optuna.db'}"

    def running_trial():
        if process.poll() is not None:
            raise AssertionError(f"tune start ended (exit {process.returncode}) before a trial was seen running: "
                                 f"{process.communicate()[1][-2000:]}")
        return running_trial_of(storage, "emnist-mnist-cnn", process.pid)

    wait_for(running_trial)
    process.send_signal(sig)
    _, err = process.communicate(timeout=120)
    assert process.returncode == code, err
    assert "Run the same command again to resume" in err and "Traceback" not in err
    trials = optuna.load_study(study_name="emnist-mnist-cnn", storage=storage).trials
    assert [t.state for t in trials if t.state != TrialState.WAITING] == [TrialState.FAIL]  # the rest still queued
    if not resume:
        return
    resumed = run_tune(*args, cwd=tmp_path)  # the same command: another --max-epochs is refused (test_cli_study)
    assert resumed.returncode == 0, resumed.stderr
    study = optuna.load_study(study_name="emnist-mnist-cnn", storage=storage)
    assert len([t for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]) == 2


@pytest.mark.slow
@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_to_a_campaign_reaches_its_running_step_which_records_the_trial(tmp_path, sig, code):
    """Ctrl-C (only the campaign's own process: its steps run in sessions of their own) or `kill -TERM`
    of the campaign: the running `tune start` gets the signal once, records its trial as failed and
    exits, and the campaign waits for it; no trial is left RUNNING, no process is left behind."""
    data_dir = tmp_path / "emnist"
    write_split(data_dir, "mnist", train_per_class=100, test_per_class=20)
    process = spawn(["campaign", "--splits", "mnist", "--models", "cnn", "--trials", "2", "--max-epochs", "40",
                     "--data-dir", str(data_dir)], tmp_path)
    storage = f"sqlite:///{tmp_path / 'studies' / 'optuna.db'}"

    def running_trial():
        if process.poll() is not None:
            raise AssertionError(f"the campaign ended (exit {process.returncode}): {process.communicate()[1][-2000:]}")
        return running_trial_of(storage, "emnist-mnist-cnn")

    child = int(wait_for(running_trial).user_attrs["worker"].rsplit(":", 1)[1])
    process.send_signal(sig)
    _, err = process.communicate(timeout=120)
    assert process.returncode == code, err
    assert "Run the same command again to resume" in err and "Traceback" not in err
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)
    trials = optuna.load_study(study_name="emnist-mnist-cnn", storage=storage).trials
    assert [t.state for t in trials if t.state != TrialState.WAITING] == [TrialState.FAIL]


def corrupt_truncated(data_dir):
    name = SPLITS["mnist"].file_name("train-images")
    (data_dir / name).write_bytes((data_dir / name).read_bytes()[:200])


def corrupt_mislabelled(data_dir):
    write_idx_gz(data_dir / SPLITS["mnist"].file_name("train-labels"), np.full(120, 11, np.uint8))


def garbage_mapping(data_dir):
    (data_dir / SPLITS["mnist"].mapping_file).write_bytes(b"\x00\xff not a mapping 99999999999999999999\n")


def empty_mapping(data_dir):
    (data_dir / SPLITS["mnist"].mapping_file).write_text("")


def an_export(model, trials):
    """A `tune export` file of `model` configs beside the data, holding `trials`."""
    def write(data_dir):
        (data_dir.parent / "best.json").write_text(json.dumps({"split": "mnist", "model": model, "trials": trials}))
    return write


ONLY_THE_ORIGINAL = [{"number": 0, "baseline": True, "params": {}, "config": {"family": "cnn", "num_classes": 10}}]


def env(values):
    return lambda data_dir: values


def cache_is_a_file(data_dir):
    (data_dir.parent / "cache-file").write_text("x")
    return {"EMNIST_CACHE_DIR": str(data_dir.parent / "cache-file")}


def artifacts_in_a_file(data_dir):
    (data_dir.parent / "artifacts-file").write_text("x")
    return {"TUNE_ARTIFACTS": str(data_dir.parent / "artifacts-file" / "sub")}


def not_vgg16_weights(data_dir):
    (data_dir.parent / "weights.h5").write_bytes(b"\x89HDF\r\n\x1a\n but not weights")


BAD_INPUT = [
    (["--split", "nope"], None, "unknown split 'nope'"),
    (["--split", "mnist", "--model", "rnn"], None, "invalid choice: 'rnn'"),
    (["--split", "mnist", "--trials", "0"], None, "0 is not allowed"),
    (["--split", "mnist", "--trials", "-3"], None, "-3 is not allowed"),
    (["--split", "mnist", "--trials", "abc"], None, "'abc' is not a whole number"),
    (["--split", "mnist", "--model", "vgg16", "--fine-tune-blocks", "7"], None, "invalid choice: 7"),
    (["--split", "mnist", "--storage", "redis://127.0.0.1/0"], None, "scheme 'redis'"),
    (["--split", "mnist", "--storage", "postgresql+psycopg://nobody@127.0.0.1:1/x"], None, "cannot reach storage"),
    (["--split", "mnist", "--study", "a/../../b"], None, "may hold only letters"),
    (["--split", "mnist", "--trials", "9"], corrupt_truncated, "truncated"),
    (["--split", "mnist", "--trials", "9"], corrupt_mislabelled, "label 11 is outside mnist's range 0..9"),
    (["--split", "mnist", "--data-dir", "{folder}/studies/optuna.db"], None, "is a file, not a folder"),
    (["--split", "balanced", "--model", "mlp", "--study", "emnist-mnist-mlp"], None, "tunes mlp on mnist, not mlp on balanced"),
    # validated before anything is written
    (["--split", "mnist", "--seed", "-5"], None, "-5 is not a seed"),
    (["--split", "mnist", "--seed", str(2**40)], None, "is not a seed"),
    (["--split", "mnist", "--trials", "9"], garbage_mapping, "not an EMNIST mapping file"),
    (["--split", "mnist", "--trials", "9"], empty_mapping, "empty mapping file"),
    (["--split", "mnist", "--trials", "9", "--workers", "2"], garbage_mapping, "not an EMNIST mapping file"),
    (["--split", "mnist", "--storage", "sqlite://"], None, "names no file"),
    (["--split", "mnist", "--storage", "sqlite:///{folder}/studies/optuna.db/sub/o.db"], None, "cannot make the folder"),
    (["--split", "mnist", "--model", "mlp", "--engine", "kerastuner", "--study", "emnist-mnist-mlp", "--trials", "5"],
     None, "--engine kerastuner (it holds optuna)"),
    (["--split", "mnist", "--warm-start", "emnist-letters-cnn"], None, "no such study"),
    (["--split", "mnist", "--warm-start", "emnist-mnist-mlp"], None, "tunes mlp, not cnn"),
    (["--split", "mnist", "--warm-start", "emnist-mnist-mlp", "--storage", "sqlite:///{folder}/none.db"], None,
     "no study storage"),
    (["--split", "mnist", "--warm-start", "{folder}/missing.json"], None, "missing.json: no such export"),
    (["--split", "mnist", "--warm-start", "{folder}/emnist/"], None, "emnist is a folder; give an export file"),
    (["--split", "mnist", "--warm-start", "{folder}/best.json"], an_export("mlp", [{"config": {"family": "mlp", "num_classes": 10}}]),
     "holds mlp configs, not cnn"),
    (["--split", "mnist", "--warm-start", "{folder}/best.json"], an_export("cnn", ONLY_THE_ORIGINAL), "holds no tuned trial"),
    (["--split", "mnist", "--warm-start", "{folder}/best.json"], an_export("cnn", []), "not a tune export"),
    (["--split", "mnist", "--warm-start", "{folder}/best.json"], an_export("cnn", [{"number": 3, "params": {"layers": 9},
     "config": {"family": "cnn", "num_classes": 10}}]), "none of its configs fits this study (1 not a point of"),
    (["--split", "mnist", "--trials", "9"], env({"TUNE_TRIALS_PER_PROCESS": "0"}), "TUNE_TRIALS_PER_PROCESS='0'"),
    (["--split", "mnist", "--trials", "9"], env({"TUNE_HEARTBEAT_SECONDS": "soon"}), "TUNE_HEARTBEAT_SECONDS='soon'"),
    (["--split", "mnist", "--trials", "9"], cache_is_a_file, "is a file, not a folder; set EMNIST_CACHE_DIR"),
    (["--split", "mnist", "--trials", "9"], artifacts_in_a_file, "artifacts-file is a file, not a folder"),
    (["--split", "mnist", "--model", "vgg16", "--weights", "{folder}/weights.h5"], not_vgg16_weights,
     "cannot be loaded into VGG16"),
    (["--split", "mnist", "--model", "vgg16", "--weights", "{folder}/missing.h5"], None,
     "missing.h5 not found; fix weights_path or use weights: null (on the command line: --weights FILE, or --weights random"),
    (["--split", "mnist", "--model", "mlp", "--trials", "9", "--weights", "none"], None, "--weights applies to --model vgg16 only"),
    (["--split", "mnist", "--fine-tune-blocks", "2"], None, "--fine-tune-blocks applies to --model vgg16 only"),
    (["--split", "mnist", "--trials", "9", "--workers", "4096"], None, "each worker holds about 1 GB"),
    (["--split", "mnist", "--trials", "9", "--study", ""], None, "study name ''"),
    (["--split", "mnist", "--trials", "1000000"], None, "--trials: 1000000 is more than one study holds here"),
    (["--split", "mnist", "--trials", "9", "--max-epochs", "100000"], None, "--max-epochs: 100000 is out of range; give 1..1000"),
    (["--split", "mnist", "--trials", "9", "--warm-start", "emnist-mnist-mlp", "--warm-start-top", "5000"], None,
     "--warm-start-top: 5000 is out of range"),
]


@pytest.mark.slow
@pytest.mark.parametrize("args, damage, fragment", BAD_INPUT, ids=[f"{i}-{row[2][:24]}" for i, row in enumerate(BAD_INPUT)])
def test_bad_input_is_one_line_and_changes_nothing(tmp_path, one_study, args, damage, fragment):
    tmp_path = tmp_path / "case"
    copy_study(one_study, tmp_path)
    data_dir = tmp_path / "emnist"
    extra_env = damage(data_dir) if damage else None
    args = [a.replace("{folder}", str(tmp_path)) for a in args]
    if "--data-dir" not in args:
        args = [*args, "--data-dir", str(data_dir)]
    before = snapshot(tmp_path)
    assert_one_line_error(run_tune("start", *args, cwd=tmp_path, env=extra_env), fragment)
    assert snapshot(tmp_path) == before


def test_no_user_file_is_read_with_pickle_or_eval():
    from tests.conftest import REPO

    sources = [p for folder in ("data_pipeline", "models", "tuning") for p in (REPO / folder).rglob("*.py")]
    for path in sources:
        text = path.read_text()
        for forbidden in ("import pickle", "allow_pickle=True", "eval(", "exec(", "safe_mode=False"):
            assert forbidden not in text, f"{path.name} uses {forbidden}"
