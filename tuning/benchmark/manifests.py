"""A benchmark cell's manifest, read back whole: what a rerun keeps and the report reads."""

from __future__ import annotations

import json
import math
from pathlib import Path

from data_pipeline import sha256_file
from tuning.errors import UserError


def cell_stem(out: Path, split: str, name: str, seed: int) -> Path:
    return out / "cells" / f"{split}-{name}-seed{seed}"


#: what every cell's manifest holds: the report and a rerun read these
MANIFEST_FIELDS = {"model": str, "seed": int, "split": str, "key": str, "config": dict, "metrics": dict,
                   "history": dict, "model_sha256": str}
MANIFEST_METRICS = ("epochs", "fit_seconds", "params", "test_accuracy", "train_accuracy", "val_accuracy",
                    "test_seconds", "train_seconds", "val_seconds", "train_images_per_second",
                    "latency_ms_batch1", "latency_ms_batch512")


def manifest_problem(manifest, split: str, name: str, seed: int) -> str | None:
    """What makes `manifest` not the whole manifest of that cell, or None."""
    if not isinstance(manifest, dict):
        return "not a JSON object"
    for field, kind in MANIFEST_FIELDS.items():
        if not isinstance(manifest.get(field), kind) or isinstance(manifest.get(field), bool):
            return f"{field!r} missing or not a {kind.__name__}"
    if (manifest["split"], manifest["model"], manifest["seed"]) != (split, name, seed):
        return f"it is the manifest of {manifest['split']} {manifest['model']} seed {manifest['seed']}"
    for metric in MANIFEST_METRICS:
        value = manifest["metrics"].get(metric)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            return f"metric {metric!r} missing or not a number >= 0"
        if metric.endswith("_accuracy") and value > 1:
            return f"metric {metric!r} is {value}, above 1"
    curve = manifest["history"].get("val_accuracy")
    if not isinstance(curve, list) or not curve or not all(isinstance(v, (int, float)) for v in curve):
        return "its history has no validation curve"
    return None


def read_manifest(stem: Path, split: str, name: str, seed: int) -> dict | None:
    """The cell's manifest checked whole (and its model file against it, where that is here); None
    where the cell has none. A damaged one is left as it is and named: the run does not start."""
    path = stem.with_suffix(".json")
    if not path.exists():
        return None
    fix = f"restore it, or delete {path.name} and {stem.name}.keras to retrain that cell"
    try:
        manifest = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not a benchmark cell manifest ({type(exc).__name__}: {exc}); {fix}") from None
    problem = manifest_problem(manifest, split, name, seed)
    if problem:
        raise UserError(f"{path}: not the whole manifest of {split} {name} seed {seed} ({problem}); {fix}")
    model_file = stem.with_suffix(".keras")
    if model_file.exists() and manifest["model_sha256"] != sha256_file(model_file):
        raise UserError(f"{model_file}: does not match its manifest's sha256 (damaged or replaced); {fix}")
    return manifest
