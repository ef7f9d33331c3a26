"""`tune export`: the best trials of one study (or all) to studies/best/*.json."""

from __future__ import annotations

from pathlib import Path

import optuna

from data_pipeline import get_split
from tuning.errors import UserError
from tuning.results.export import BEST_DIR, export_study, write_export
from tuning.study.storage import check_study_name, open_storage


def cmd_export(args) -> int:
    storage = open_storage(args.storage, create=False, writes=False)
    names = optuna.get_all_study_names(storage)
    if args.all:
        chosen = sorted(names)
        if args.out and len(chosen) > 1:
            raise UserError("--out names one file; with --all each study goes to studies/best/<study>.json")
    else:
        if not args.split and args.study is None:
            raise UserError("say which study: --split S [--model M], --study NAME, or --all")
        chosen = [check_study_name(f"emnist-{get_split(args.split).name}-{args.model}" if args.study is None else args.study)]
    missing = [name for name in chosen if name not in names]
    if missing or not chosen:
        raise UserError(f"no study named {missing[0]!r} in this storage; see `tune status`" if missing else "no studies to export")
    documents = [export_study(optuna.load_study(study_name=name, storage=storage), args.top) for name in chosen]
    for document in documents:  # every study checked before any file is written
        out = Path(args.out) if args.out else BEST_DIR / f"{document['study'].removeprefix('emnist-')}.json"
        write_export(document, out)
        best = document["trials"][0]
        print(f"{document['study']}: best {len(document['trials'])} trial(s) -> {out} "
              f"(#{best['number']}, val accuracy {best['val_accuracy']:.4f})")
    return 0
