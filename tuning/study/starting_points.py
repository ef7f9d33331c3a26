"""Where a study starts: the original study's model first (the reference), then the best configs
of a related study when asked (`--warm-start`), then configs known to work on 28x28 handwriting.

Each family carries its known-good configs (tuning.families).
"""

from __future__ import annotations

import os

import optuna
from optuna.trial import TrialState

from models import ConfigError
from tuning.errors import UserError
from tuning.families import registered
from tuning.export import read_export
from tuning.settings import StudySettings
from tuning.storage import check_study_name
from tuning.trial.spaces import config_from_params, conv_macs


def known_good(family: str, max_epochs: int, max_macs: int | None = None) -> list[dict]:
    """The family's known-good params within the study's cost bound: on byclass-dev the second CNN
    (18M multiply-adds, 16M allowed) takes 10 minutes of a 2-hour study for no better a result than
    the first. Their epochs are the rung's they run at (tuning.study.rungs), as for every trial."""
    points = [dict(params) for params in registered(family).known_good]
    return [params for params in points if within_bound(family, params, max_epochs, max_macs)]


def within_bound(family: str, params: dict, max_epochs: int, max_macs: int | None) -> bool:
    """Whether `params` cost no more than the study's bound (tuning.settings.max_macs) lets a draw cost."""
    return not over_bound(config_from_params(family, params, 10, max_epochs), max_macs)


def over_bound(config: dict, max_macs: int | None) -> bool:
    """Whether a config's conv stack costs more than `max_macs` (None: no bound)."""
    return bool(max_macs) and conv_macs(config) > max_macs


def warm_start(storage, source: str, settings, num_classes: int, top: int) -> list[dict]:
    """The params of the `top` best trials of `source` (the original study's trial left out), valid in
    this study's space (epochs left to the rung each runs at); the class count is this split's, as params never
    hold it. `source` is a study in this storage, or a `tune export` file such as the shipped
    studies/best/balanced-cnn.json (so a full-scale study starts from what the dev splits found; no
    storage is needed for a file). Bad input (no such study or file, another family, nothing finished) is a UserError."""
    ranked = exported_params(source, settings) if is_export_path(source) else studied_params(storage, source, settings)
    chosen, outside, costly = [], 0, []
    for params in ranked:
        params = {key: value for key, value in params.items() if key != "epochs"}  # the rung's, not the source's
        try:
            config = config_from_params(settings.model, params, num_classes, settings.max_epochs, **settings.space_kwargs())
        except (KeyError, ConfigError):
            outside += 1  # from an older space: not a point of this one
            continue
        if over_bound(config, settings.max_macs):
            costly.append(conv_macs(config))  # costlier than this (larger) split lets a trial be
            continue
        if params not in chosen:
            chosen.append(params)
        if len(chosen) == top:
            break
    if not chosen:  # asked for a warm start, the study would silently start without one
        reasons = ([f"{outside} not a point of this study's {settings.model} space"] if outside else []) + (
            [f"{len(costly)} over its bound of {settings.max_macs / 1e6:.0f}M multiply-adds per conv stack "
             f"(they cost {min(costly) / 1e6:.0f}M and more)"] if costly else [])
        costlier = "give --max-epochs lower to allow costlier configs, " if costly else ""
        raise UserError(f"--warm-start {source}: none of its configs fits this study ({'; '.join(reasons)}); "
                        f"warm start from a study or export of this space, {costlier}or drop --warm-start")
    return chosen


def is_export_path(source: str) -> bool:
    """A path (`--warm-start studies/best/balanced-cnn.json`) rather than a study name."""
    return source.endswith(".json") or os.sep in source or "/" in source


def studied_params(storage, source: str, settings) -> list[dict]:
    """The params of study `source`'s complete trials, best first, the original study's left out."""
    check_study_name(source)
    if source not in optuna.get_all_study_names(storage):
        raise UserError(f"--warm-start {source}: no such study in this storage; `tune status` lists them, "
                        "or give a `tune export` file such as studies/best/balanced-cnn.json")
    study = optuna.load_study(study_name=source, storage=storage)
    other = StudySettings.from_attrs(study.user_attrs, source)
    if other.model != settings.model:
        raise UserError(f"--warm-start {source} tunes {other.model}, not {settings.model}; "
                        f"warm-start from an emnist-<split>-{settings.model} study")
    complete = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                if not t.user_attrs.get("baseline")]
    if not complete:
        raise UserError(f"--warm-start {source} has no complete trial besides the original study's model; "
                        "run it first, or drop --warm-start")
    return [trial.params for trial in sorted(complete, key=lambda t: t.value, reverse=True)]


def exported_params(source: str, settings) -> list[dict]:
    """The params of a `tune export` file's trials, best first (as exported), the original study's left out."""
    try:
        document = read_export(source)
    except UserError as exc:
        raise UserError(f"--warm-start {exc}") from None
    if document.get("model") != settings.model:
        raise UserError(f"--warm-start {source} holds {document.get('model')} configs, not {settings.model}; "
                        f"give a <split>-{settings.model}.json export")
    ranked = [trial["params"] for trial in document["trials"]
              if isinstance(trial.get("params"), dict) and not trial.get("baseline")]
    if not ranked:
        raise UserError(f"--warm-start {source} holds no tuned trial (only the original study's model); "
                        "export a study with complete trials, or drop --warm-start")
    return ranked
