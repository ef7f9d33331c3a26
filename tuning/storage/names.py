"""Study names: what a name may hold, and whether a storage holds it."""

from __future__ import annotations

import re

from tuning.errors import UserError

STUDY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$")


def check_study_name(name: str) -> str:
    if not STUDY_NAME.match(name):
        raise UserError(
            f"study name {name!r} may hold only letters, digits, '.', '_' and '-' (up to 120), "
            "e.g. emnist-balanced-cnn"
        )
    return name


def check_study_exists(storage, name: str) -> None:
    import optuna

    if name not in optuna.get_all_study_names(storage):
        raise UserError(f"no study named {name!r} in this storage; start it with `tune start` or list studies with `tune status`")
