"""`tune export`: the best trials of one study (or all) to studies/best/*.json."""

from __future__ import annotations

from pathlib import Path

import optuna

from data_pipeline import get_split
from models import MAX_MEMBERS
from tuning.errors import UserError
from tuning.export import BEST_DIR, check_export_target, export_study, summary_line, write_export
from tuning.storage import STUDY_NAME, check_study_name, open_storage, resolve_url, storage_file
from tuning.study.progress import printable
from tuning.settings import study_name


def export_targets(names: list[str], out: str | None, suffix: str = "") -> dict[str, Path]:
    """{study: the file its export goes to}. With --all a study's name becomes a file name under
    studies/best/, so each must be a plain study name (a shared storage may hold any name) and no
    two may land on the same file."""
    if out:
        return {name: Path(out) for name in names}
    targets: dict[str, Path] = {}
    for name in names:
        if not STUDY_NAME.match(name):
            raise UserError(f"study {printable(name)!r} has a name that cannot be a file name under {BEST_DIR}; "
                            "export the studies you want one by one with --study NAME --out FILE")
        target = BEST_DIR / f"{name.removeprefix('emnist-')}{suffix}.json"
        clash = next((other for other, path in targets.items() if path == target), None)
        if clash:
            raise UserError(f"studies {clash} and {name} would both be exported to {target}; export one of them "
                            "with --study NAME --out FILE, the other with --study")
        targets[name] = target
    return targets


def cmd_export(args) -> int:
    if args.ensemble is not None and not 2 <= args.ensemble <= MAX_MEMBERS:
        raise UserError(f"--ensemble {args.ensemble}: an ensemble joins 2..{MAX_MEMBERS} trials; give --ensemble 3, "
                        "say, or drop it")
    url = resolve_url(args.storage)
    storage = open_storage(url, create=False, writes=False)
    names = optuna.get_all_study_names(storage)
    if args.all:
        chosen = sorted(names)
        if args.out and len(chosen) > 1:
            raise UserError("--out names one file; with --all each study goes to studies/best/<study>.json")
    else:
        if not args.split and args.study is None:
            raise UserError("say which study: --split S [--model M], --study NAME, or --all")
        chosen = [check_study_name(study_name(get_split(args.split).name, args.model) if args.study is None else args.study)]
    missing = [name for name in chosen if name not in names]
    if missing or not chosen:
        raise UserError(f"no study named {missing[0]!r} in this storage; see `tune status`" if missing else "no studies to export")
    targets = export_targets(chosen, args.out, "-ensemble" if args.ensemble else "")
    for target in targets.values():
        check_export_target(target, storage_file(url))
    documents = [export_study(optuna.load_study(study_name=name, storage=storage), args.top, args.ensemble, args.ensemble_select) for name in chosen]
    for document in documents:  # every study and file checked before any file is written
        print(printable(summary_line(document, write_export(document, targets[document["study"]]))))
    return 0
