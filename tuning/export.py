"""Exported configs: the best trials of a study as JSON that `models.build` reads back, written and read."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import optuna
from optuna.trial import TrialState

from data_pipeline import write_atomic
from tuning.settings import StudySettings, final_config
from tuning.errors import UserError
from tuning.provenance import versions
from tuning.study.rungs import distinct, ranked, rung_of
from tuning.trial.spaces import config_from_params

BEST_DIR = Path("studies/best")


def export_study(study: optuna.Study, top: int, ensemble: int | None = None, selection: str = "greedy") -> dict:
    """The study's `top` best complete trials as configs, best first (those of its highest rung
    first, tuning.study.rungs, so the file ships what was measured at the shipped schedule). With `ensemble` K, first an
    entry whose config is the ensemble of the K best (models.build joins them; `selection` says how the
    benchmark weighs them once trained, tuning.benchmark.ensembles), then its members."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        raise UserError(f"study {study.study_name} has no complete trial yet; run `tune start` until one finishes")
    if ensemble and len(complete) < 2:
        raise UserError(f"study {study.study_name} has 1 complete trial; an ensemble needs at least 2: run more trials")
    settings = StudySettings.from_attrs(study.user_attrs, study.study_name)
    num_classes = settings.num_classes
    # the highest rung first (the schedule it ships with), and a config once: a climb, not its source too
    best = distinct(ranked(complete))[:max(top, ensemble or 0)]
    entries = [
        {
            "number": trial.number,
            "val_accuracy": trial.value,
            "rung": rung_of(trial),
            "baseline": bool(trial.user_attrs.get("baseline")),
            "params": trial.params,
            # what the trial trained (the original study's model and KerasTuner's Hyperband epochs
            # differ from what their params replay to); params replayed for older studies
            "config": trial.user_attrs.get("config") or config_from_params(
                settings.model, trial.params, num_classes, settings.max_epochs, **settings.space_kwargs()),
        }
        for trial in best
    ]
    for entry in entries:  # what `tune benchmark --schedule final` trains (settings.final_config)
        entry["final_config"] = final_config(entry["config"])
    if ensemble:
        members = entries[:ensemble]
        entries = [{"number": None, "members": [member["number"] for member in members], "val_accuracy": None,
                    "baseline": False, "params": None,
                    "config": {"family": "ensemble", "num_classes": num_classes, "selection": selection,
                               "members": [member["config"] for member in members]}}, *members]
        entries[0]["final_config"] = final_config(entries[0]["config"])
    return {
        "study": study.study_name,
        "split": settings.split,
        "model": settings.model,
        "engine": study.user_attrs.get("engine", "optuna"),
        "seed": settings.seed,
        "max_epochs": settings.max_epochs,
        "holdout": study.user_attrs.get("holdout"),
        "trials": entries,
        "data_checksums": study.user_attrs.get("data_checksums"),
        "tuned_with": study.user_attrs.get("versions"),
        "exported_with": versions(),
        "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def summary_line(document: dict, out) -> str:
    """What `tune export` says of one written file."""
    first = document["trials"][0]
    if first["config"]["family"] == "ensemble":
        members = ", ".join(f"#{entry['number']} {entry['val_accuracy']:.4f}" for entry in document["trials"][1:]
                            if entry["number"] in first["members"])
        return f"{document['study']}: an ensemble of {len(first['members'])} -> {out} (val accuracy {members})"
    return (f"{document['study']}: best {len(document['trials'])} trial(s) -> {out} "
            f"(#{first['number']}, val accuracy {first['val_accuracy']:.4f})")


MAX_EXPORT_BYTES = 16 << 20  # an export of a few trials is kilobytes; anything larger is some other file


def is_export(path: Path) -> bool:
    """Whether `path` is a file `tune export` wrote (JSON with a study and its trials)."""
    try:
        if path.stat().st_size > MAX_EXPORT_BYTES:
            return False
        document = json.loads(path.read_bytes())
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return isinstance(document, dict) and "study" in document and isinstance(document.get("trials"), list)


def check_export_target(out: Path, storage: Path | None = None) -> None:
    """`out` may take an export: a new file, or a previous export. Never a folder, the study storage
    file (`storage`: SQLite, journal) or a file SQLite or the journal keeps beside it, or any other
    existing file."""
    if out.is_dir():
        raise UserError(f"--out {out} is a folder; give a file path such as {out / 'best.json'}")
    if storage is not None and out.resolve() in {storage.resolve().with_name(storage.name + suffix)
                                                 for suffix in ("", "-wal", "-shm", "-journal", ".lock")}:
        raise UserError(f"--out {out} is the study storage itself; give a .json file such as studies/best/best.json")
    if out.exists() and not is_export(out):
        raise UserError(f"--out {out} exists and is not a tune export, so it is left as it is; "
                        "give a new file path, or move that file away first")


def write_export(document: dict, out: Path) -> Path:
    """Write `document` to `out` whole or not at all (check_export_target first)."""
    data = (json.dumps(document, indent=2) + "\n").encode()
    try:
        write_atomic(out, data)
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc.strerror}; choose a writable --out path") from None
    return out


def read_export(path: str | os.PathLike) -> dict:
    """An exported file, checked whole (check_export): a damaged, hand-edited or foreign file is a
    UserError naming what is wrong, before anything is built from it."""
    path = Path(path)
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{path}: no such export; run `tune export` first") from None
    except IsADirectoryError:
        raise UserError(f"{path} is a folder; give an export file such as studies/best/balanced-cnn.json") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not a JSON export ({exc}); run `tune export` again") from None
    if not isinstance(document, dict) or not isinstance(document.get("trials"), list) or not document["trials"]:
        raise UserError(f"{path}: not a tune export (no trials list); run `tune export` again")
    problem = export_problem(document)
    if problem:
        raise UserError(f"{path}: {problem}; run `tune export` again")
    return document


def export_problem(document: dict) -> str | None:
    """What makes `document` not a whole `tune export` document, or None: its split and family
    known, every trial's config (and final_config) one `models.build` takes, of that family and the
    split's class count, and numbers where numbers belong."""
    from data_pipeline import SPLITS
    from models import parse_config
    from tuning.families import FAMILIES

    split, family = SPLITS.get(document.get("split")), document.get("model")
    if split is None:
        return f"split {document.get('split')!r} is not one of {', '.join(SPLITS)}"
    if family not in FAMILIES:
        return f"model {family!r} is not a family ({', '.join(FAMILIES)})"
    for index, trial in enumerate(document["trials"]):
        if not isinstance(trial, dict):
            return f"trial entry {index} is not an object"
        where = f"trial {trial.get('number', index)!r}"
        number, value, params = trial.get("number"), trial.get("val_accuracy"), trial.get("params")
        if number is not None and (not isinstance(number, int) or isinstance(number, bool) or number < 0):
            return f"{where}: 'number' is not a trial number"
        if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1):
            return f"{where}: 'val_accuracy' {value!r} is not an accuracy (0..1)"
        if params is not None and not isinstance(params, dict):
            return f"{where}: 'params' is not an object"
        for key in ("config", "final_config"):
            if key == "final_config" and key not in trial:
                continue
            try:
                config = parse_config(trial.get(key))
            except (ValueError, TypeError, OverflowError) as exc:  # ConfigError, or a value of a type no key takes
                return f"{where}: {exc}" if key == "config" else f"{where}: final_config: {exc}"
            families = {member["family"] for member in trial[key]["members"]} if config.family == "ensemble" else {config.family}
            if families != {family}:
                return f"{where}: its {key} is {'/'.join(sorted(families))}, but the export is of {family}"
            if config.num_classes != split.num_classes:
                return (f"{where}: its {key} has num_classes {config.num_classes}, but {split.name} has "
                        f"{split.num_classes} classes")
    return None
