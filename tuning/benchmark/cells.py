"""`tune benchmark`: retrain exported best configs and the original study's baselines, timed.

Every (split, model, seed) is one cell: trained on the training set with validation monitoring
(the best epoch's weights are kept), then timed on train, validation and test as the original
study did, plus fit time, images/s and inference latency. A finished cell is kept as a `.keras`
model with a JSON manifest under `<out>/cells/`, so a rerun fills in only what is missing (the
manifest alone counts: the report shipped in git holds no models). This is the only place the test
set is used.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

import models
from data_pipeline import Split, TrainVal, load_split, sha256_file, train_val_split, write_atomic
from tuning.backend import device_record
from tuning.benchmark.ensembles import fit_ensemble, keep_best
from tuning.benchmark.manifests import cell_stem, read_manifest
from tuning.errors import UserError, check_writable_folder
from tuning.families import FAMILIES, registered
from tuning.export import BEST_DIR, read_export
from tuning.provenance import versions
from tuning.settings import DEFAULT_SCHEDULES, REFIT, final_config
from tuning.trial.feature_cache import CachedModel, FeatureCache
from tuning.trial.training import fit, release_memory, set_seed, timed_evaluate



@dataclass(frozen=True)
class BenchmarkPlan:
    """What `tune benchmark` retrains: which splits and models, how many seeds, from where, to where."""

    splits: tuple[Split, ...]
    models: tuple[str, ...]  # "tuned", "default" (the untuned default, trained like tuned) and/or families (baselines)
    source: Path = BEST_DIR  # exported configs: a folder or one file
    seeds: int = 3
    epochs: int | None = None  # overrides every model's epochs
    out: Path = Path("reports")
    vgg_weights: str | None = "imagenet"
    data_dir: str | None = None
    schedules: tuple[str, ...] = DEFAULT_SCHEDULES  # tuned configs: as their trial ran, the final policy, refit


def model_configs(split, wanted, source: Path, epochs: int | None, vgg_weights,
                  schedules: tuple[str, ...] = DEFAULT_SCHEDULES) -> dict[str, dict]:
    """name -> config for one split: 'tuned-<family>' from exports ('tuned-<family>-ensemble' for an
    ensemble; '-final' after either under the final-training policy), 'default-<family>' (the family's
    untuned default trained like the tuned one, same '-final'), and the asked baselines."""
    configs = {}
    if "tuned" in wanted or "default" in wanted:
        files = [source] if source.is_file() else sorted(source.glob(f"{split.name}-*.json"))
        for path in files:
            document = read_export(path)
            if document.get("split") != split.name:
                continue
            config = document["trials"][0]["config"]
            if config.get("num_classes") != split.num_classes:
                raise UserError(f"{path}: its config has num_classes {config.get('num_classes')!r}, but {split.name} "
                                f"has {split.num_classes} classes; export it again with `tune export --split {split.name}`")
            engine = document.get("engine", "optuna")
            family = f"{document.get('model')}-ensemble" if config["family"] == "ensemble" else config["family"]
            name = f"tuned-{family}" + ("" if engine == "optuna" else f"-{engine}")
            rows = {name: config} if "tuned" in wanted else {}
            if "default" in wanted and config["family"] in FAMILIES and engine == "optuna":
                rows[f"default-{config['family']}"] = default_config(config, vgg_weights)  # what tuning bought
            for row, row_config in rows.items():
                if "trial" in schedules:
                    configs[row] = row_config
                # a '-final' row where the policy changes the config (with --epochs every row trains alike)
                if "final" in schedules and ("trial" not in schedules or not epochs and final_config(row_config) != row_config):
                    configs[f"{row}-final"] = final_config(row_config)
                if "refit" in schedules and row_config["family"] not in ("ensemble", "vgg16"):  # a whole image model
                    configs[f"{row}{REFIT}"] = final_config(row_config)
        if not configs:
            raise UserError(f"no exported configs for {split.name} in {source}; run `tune export --split {split.name}` first")
    for family in FAMILIES.values():
        if family.name in wanted:
            configs[f"baseline-{family.name}"] = family.baseline(split.name, split.num_classes, **family.weights_keys(vgg_weights))
    return {name: models.normalize(with_epochs(config, epochs)) for name, config in configs.items()}


def default_config(tuned: dict, vgg_weights) -> dict:
    """The family's first known-good config (tuning.families), the untuned default a user would try
    first, trained exactly like `tuned`: the same classes and epochs."""
    from tuning.trial.spaces import config_from_params

    family = registered(tuned["family"])
    return config_from_params(family.name, family.known_good[0], tuned["num_classes"], tuned["epochs"],
                              **family.weights_keys(vgg_weights))


def with_epochs(config: dict, epochs: int | None) -> dict:
    """`config` trained `epochs` epochs (--epochs; an ensemble's members each), or as it is."""
    if not epochs:
        return config
    if config["family"] == "ensemble":
        return {**config, "members": [with_epochs(member, epochs) for member in config["members"]]}
    return {**config, "epochs": epochs}


def cell_key(config: dict, seed: int, checksums: dict) -> str:
    text = json.dumps({"config": config, "seed": seed, "data": checksums}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def latency_ms(model, images: np.ndarray, batch: int, repeats: int) -> float:
    """Median milliseconds per image of a forward pass at a given batch size (after a warm-up)."""
    sample = images[:batch]
    model.predict_on_batch(sample)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict_on_batch(sample)
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1000 / len(sample)


def with_validation(holdout) -> TrainVal:
    """Training images and validation images together as the training set (validation still
    reported each epoch, but no longer held out)."""
    return TrainVal(np.concatenate([holdout.train_images, holdout.val_images]),
                    np.concatenate([holdout.train_labels, holdout.val_labels]), holdout.val_images, holdout.val_labels)


def run_cell(name: str, config: dict, seed: int, data, holdout, features: FeatureCache) -> tuple[dict, object]:
    set_seed(seed)
    head = CachedHead.of(config, holdout, features)
    trained_images = len(holdout.train_labels)
    start = time.perf_counter()
    if config["family"] == "ensemble":
        model, history, config = fit_ensemble(config, holdout)  # with its selection's weights
    elif name.endswith(REFIT):  # every image it may learn from, the whole schedule: no epoch is picked on validation
        model = models.build(config)
        history = fit(model, config, with_validation(holdout)).history
        trained_images += len(holdout.val_labels)
    else:
        model = head.model.rest if head else models.build(config)
        history = fit(model, config, head.model.holdout if head else holdout, callbacks=[keep_best(config)]).history
    fit_seconds = time.perf_counter() - start
    epochs = len(history["loss"])
    metrics = {"fit_seconds": fit_seconds, "epochs": epochs,
               "train_images": trained_images,
               "train_images_per_second": trained_images * epochs / fit_seconds}
    parts = (("train", holdout.train_images, holdout.train_labels), ("val", holdout.val_images, holdout.val_labels),
             ("test", data.test_images, data.test_labels))
    for part, images, labels in parts:
        metrics[f"{part}_seconds"], metrics[f"{part}_accuracy"] = head.evaluate(images, labels) if head else \
            timed_evaluate(model, images, labels)
    if head:  # the head trained on features goes back into the whole model: what is kept and latency-timed
        model = models.vgg16.transplant(head.model.rest, models.build(config))
        metrics |= {"feature_seconds": head.seconds, "base_ms_per_image": head.base_ms_per_image}
    metrics["params"] = int(model.count_params())
    metrics["latency_ms_batch1"] = latency_ms(model, holdout.val_images, 1, 50)
    metrics["latency_ms_batch512"] = latency_ms(model, holdout.val_images, 512, 5)
    history_lists = {key: [float(v) for v in values] for key, values in history.items()}
    return {"model": name, "seed": seed, "config": config, "metrics": metrics, "history": history_lists,
            "device": device_record()}, model


@dataclass
class CachedHead:
    """A VGG16 whose frozen base can be cached (tuning.trial.feature_cache): its trainable rest, trained
    and evaluated on the base's features as in a trial. The base is the same for every seed, so its
    pass over a split runs once; an evaluation's time is the rest's on the features plus the base's
    pass over those images at its measured rate (ms an image at batch 512, measured in every cell)."""

    model: CachedModel
    features: FeatureCache
    seconds: float  # spent computing features in this cell (0 when they were cached)
    base_ms_per_image: float

    @classmethod
    def of(cls, config: dict, holdout, features: FeatureCache) -> "CachedHead | None":
        if config["family"] != "vgg16":
            return None
        cached = features.cached_model(config, holdout)
        if isinstance(cached, str):  # the cache cannot serve it: the cell trains the whole model
            return None
        return cls(cached, features, cached.seconds, latency_ms(cached.prefix, holdout.val_images, 512, 3))

    def evaluate(self, images: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
        cached, seconds = self.features.features(self.model.prefix, self.model.key, images)
        self.seconds += seconds
        head_seconds, accuracy = timed_evaluate(self.model.rest, cached, labels)
        return head_seconds + self.base_ms_per_image * len(images) / 1000, accuracy


def without_unavailable_weights(configs: dict[str, dict]) -> tuple[dict[str, dict], dict[str, str]]:
    """(the configs that can be built here, {name: why not}): a VGG16 whose weights cannot be had
    (no ImageNet file and no internet) is skipped with the reason, not the end of the run."""
    kept, skipped = {}, {}
    for name, config in configs.items():
        try:
            for part in config.get("members") or [config]:  # an ensemble's members, or the config itself
                if part["family"] == "vgg16":
                    models.vgg16_weights_file(part)
            kept[name] = config
        except models.WeightsUnavailable as exc:
            skipped[name] = str(exc)
    return kept, skipped


def run_benchmark(plan: BenchmarkPlan) -> tuple[list[dict], dict[str, str]]:
    """Every cell of the plan (a rerun keeps the cells already in `plan.out`), split by split; and
    the models skipped, with the reason."""
    cells_of, skipped = {}, {}
    for split in plan.splits:  # every export checked before anything trains
        cells_of[split.name], missing = without_unavailable_weights(
            model_configs(split, plan.models, plan.source, plan.epochs, plan.vgg_weights, plan.schedules))
        skipped |= {f"{split.name} {name}": reason for name, reason in missing.items()}
    for name, reason in skipped.items():
        print(f"{name}: skipped: {reason}")
    check_writable_folder(plan.out, "--out")
    kept = {(split.name, name, seed): read_manifest(cell_stem(plan.out, split.name, name, seed), split.name, name, seed)
            for split in plan.splits for name in cells_of[split.name] for seed in range(plan.seeds)}  # all, before any trains
    cells, features = [], FeatureCache()
    run = datetime.now(timezone.utc).isoformat(timespec="seconds")  # every cell made now says which run made it
    for split in plan.splits:  # load each split once; every cell of it shares the arrays
        data = load_split(split.name, plan.data_dir)
        bench = SplitBench(split, data, train_val_split(data), features, plan.out, run)
        for name, config in cells_of[split.name].items():
            for seed in range(plan.seeds):
                cells.append(kept_cell(bench, name, config, seed, kept[split.name, name, seed])
                             or benchmark_cell(bench, name, config, seed))
    return cells, skipped


@dataclass(frozen=True)
class SplitBench:
    """One split's share of a benchmark run: its arrays, loaded once, and where its cells go."""

    split: Split
    data: object  # data_pipeline's loaded split (test images and checksums)
    holdout: object  # its train/validation holdout
    features: FeatureCache
    out: Path
    run: str  # when the run started: every cell made now carries it


def kept_cell(bench: SplitBench, name: str, config: dict, seed: int, manifest: dict | None) -> dict | None:
    """The cell from an earlier run where its manifest (checked by read_manifest) is of this very
    config, seed and data; None where it must be trained."""
    if manifest is None or manifest["key"] != cell_key(config, seed, bench.data.checksums):
        return None
    shipped = not cell_stem(bench.out, bench.split.name, name, seed).with_suffix(".keras").exists()
    # a shipped report (reports/ in git) carries the manifests, not the models
    print(f"{bench.split.name:9} {name:16} seed {seed}: kept from an earlier run"
          + (" (its manifest; the model file is not here)" if shipped else ""))
    return manifest


def benchmark_cell(bench: SplitBench, name: str, config: dict, seed: int) -> dict:
    """Train, time and keep one cell: the model file first, the manifest last (it marks the cell done)."""
    split, data = bench.split, bench.data
    stem = cell_stem(bench.out, split.name, name, seed)
    cell, model = run_cell(name, config, seed, data, bench.holdout, bench.features)
    cell |= {"split": split.name, "key": cell_key(config, seed, data.checksums), "data_checksums": data.checksums,
             "versions": versions(), "run": bench.run}
    model_path = stem.with_suffix(".keras")
    tmp = model_path.with_name(f".{model_path.stem}.tmp.keras")
    model_path.parent.mkdir(parents=True, exist_ok=True)
    model.save(tmp)
    tmp.replace(model_path)
    cell["model_sha256"] = sha256_file(model_path)
    write_atomic(stem.with_suffix(".json"), (json.dumps(cell, indent=2) + "\n").encode())
    m = cell["metrics"]
    print(f"{split.name:9} {name:16} seed {seed}: test {m['test_accuracy']:.4f}  val {m['val_accuracy']:.4f}  "
          f"fit {m['fit_seconds']:.0f}s ({m['epochs']} epochs)", flush=True)
    release_memory()
    return cell
