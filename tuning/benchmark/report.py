"""The benchmark report: the original study's table layout, ours beside its published figures."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from matplotlib import ticker

from data_pipeline import write_atomic
from tuning.plotting import axes_per_split, save
from tuning.benchmark.verdicts import ensemble_lines, generalization_lines, shipped_table, verdicts
from tuning.provenance import machine, versions

#: shared/BASELINES.md: (train s, train %, test s, test %, val s, val %), full release, Colab.
ORIGINAL = {
    ("digits", "baseline-cnn"): (15.81, 99.85, 5.26, 99.52, 5.21, 99.44),
    ("byclass", "baseline-cnn"): (40.81, 87.48, 7.91, 86.57, 7.94, 86.46),
    ("bymerge", "baseline-cnn"): (83.02, 93.05, 20.77, 90.56, 11.21, 90.66),
    ("balanced", "baseline-cnn"): (9.34, 93.77, 1.81, 87.63, 1.83, 87.43),
    ("letters", "baseline-cnn"): (10.63, 97.12, 2.62, 94.07, 1.87, 94.30),
    ("mnist", "baseline-cnn"): (4.47, 99.50, 0.95, 98.95, 0.96, 98.97),
    ("mnist", "baseline-mlp"): (2.76, 99.38, 0.54, 98.29, 0.54, 98.24),
    ("mnist", "baseline-vgg16"): (47.48, 98.68, 9.26, 97.70, 10.27, 97.46),
}
PARTS = ("train", "test", "val")
METRICS = ("train_seconds", "train_accuracy", "test_seconds", "test_accuracy", "val_seconds", "val_accuracy",
           "fit_seconds", "epochs", "params", "train_images_per_second", "latency_ms_batch1", "latency_ms_batch512")


def summarize(cells: list[dict]) -> dict[tuple[str, str], dict]:
    """(split, model) -> metric -> (mean, sd, n) over seeds."""
    grouped, devices = defaultdict(list), defaultdict(set)
    for cell in cells:
        grouped[(cell["split"], cell["model"])].append(cell["metrics"])
        device = cell.get("device") or {}  # cells kept from before devices were recorded have none
        devices[(cell["split"], cell["model"])].add(
            f"{device.get('device', 'unrecorded')}, {device.get('backend', '?')}, {device.get('precision', '?')}")
    return {key: {**{m: (float(np.mean([r[m] for r in rows])), float(np.std([r[m] for r in rows])), len(rows)) for m in METRICS},
                  "device": "; ".join(sorted(devices[key]))}
            for key, rows in grouped.items()}


def pm(stat, scale=1.0, digits=2) -> str:
    mean, sd, n = stat
    return f"{mean * scale:.{digits}f} ± {sd * scale:.{digits}f}" if n > 1 else f"{mean * scale:.{digits}f}"


def main_table(summary) -> list[str]:
    lines = ["| split | model | train time s | train acc % | test time s | test acc % | val time s | val acc % |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for (split, model), stats in sorted(summary.items()):
        cells = [cell for part in PARTS for cell in (pm(stats[f"{part}_seconds"]), pm(stats[f"{part}_accuracy"], 100))]
        lines.append(f"| {split} | {model} | " + " | ".join(cells) + " |")
        if (split, model) in ORIGINAL:
            lines.append(f"| {split} | {model}, original (Colab, full release) | " + " | ".join(f"{v:.2f}" for v in ORIGINAL[(split, model)]) + " |")
    return lines


def cost_table(summary) -> list[str]:
    lines = ["| split | model | params | epochs | fit s | train img/s | latency ms/img, batch 1 | ms/img, batch 512 | device, backend, precision |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for (split, model), s in sorted(summary.items()):
        lines.append(f"| {split} | {model} | {s['params'][0]:,.0f} | {pm(s['epochs'], digits=1)} | {pm(s['fit_seconds'], digits=1)} | "
                     f"{pm(s['train_images_per_second'], digits=0)} | {pm(s['latency_ms_batch1'], digits=3)} | {pm(s['latency_ms_batch512'], digits=4)} | "
                     f"{s['device']} |")
    return lines


def ratio_lines(summary) -> list[str]:
    lines = ["| split | time CNN/MLP (train / test / val) | accuracy CNN/MLP (train / test / val) |", "|---|---|---|"]
    for split in sorted({s for s, _ in summary}):
        cnn, mlp = summary.get((split, "baseline-cnn")), summary.get((split, "baseline-mlp"))
        if cnn and mlp:
            times = " / ".join(f"{cnn[f'{p}_seconds'][0] / mlp[f'{p}_seconds'][0]:.2f}" for p in PARTS)
            accs = " / ".join(f"{cnn[f'{p}_accuracy'][0] / mlp[f'{p}_accuracy'][0]:.4f}" for p in PARTS)
            lines.append(f"| {split} | {times} | {accs} |")
    lines.append("| mnist, original (Colab) | 1.62 / 1.76 / 1.78 | 1.0012 / 1.0067 / 1.0074 |")
    return lines


def vgg16_bases(cells: list[dict]) -> list[str]:
    """One plain line per VGG16 base the run used: only ImageNet's makes it transfer learning."""
    bases = {}
    for cell in cells:
        config = cell["config"]
        if config.get("family") != "vgg16":
            continue
        if config.get("weights") == "random":
            bases["random"] = ("**not ImageNet's**: a fixed random base (seed 0, `--weights random`), because ImageNet's "
                               "weights could not be had here. These rows measure a head on random features, not transfer "
                               "learning; put `vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5` into `~/.keras/models/` "
                               "and rerun with `--weights imagenet` for that.")
        elif config.get("weights") is None:
            bases["none"] = "**not ImageNet's**: random initialisation, another base for every seed (`--weights none`)."
        elif config.get("weights_path"):
            bases[config["weights_path"]] = f"the weights file `{config['weights_path']}`."
        else:
            bases["imagenet"] = "ImageNet's (Keras' VGG16 no-top weights)."
    lines = [f"- VGG16 base: {text}" for _, text in sorted(bases.items())]
    if any("base_ms_per_image" in cell["metrics"] for cell in cells):
        lines.append("- VGG16 cells train and evaluate the head on the frozen base's cached features (the base is the "
                     "same for every seed, so its pass over a split runs once): their fit time and train img/s are the head's "
                     "alone, their evaluation times the head's on the features plus the frozen base's pass at its "
                     "measured rate (`base_ms_per_image`, batch 512).")
    return lines


def runs(cells: list[dict]) -> list[str]:
    """One line where the cells come from more than one benchmark run (a rerun keeps finished cells):
    each keeps its own run's times, and this machine's speed differs between runs."""
    made = {}
    for cell in cells:
        made.setdefault(cell["split"], set()).add(cell.get("run", "an undated earlier run"))
    if len(set().union(*made.values())) <= 1:
        return []
    parts = "; ".join(f"{split}: {', '.join(sorted(when))}" for split, when in sorted(made.items()))
    return [f"- Cells from more than one run ({parts}). A kept cell keeps its run's times, and a machine's speed can "
            "differ between runs (up to 3x on a shared VM): compare times between cells of the same run only."]


def model_colors(models) -> dict[str, str]:
    """One colour per model, the same in every plot of a report."""
    return {model: f"C{i}" for i, model in enumerate(sorted(set(models)))}


def plot_accuracy_vs_time(summary, path: Path) -> None:
    figure, axes = axes_per_split(sorted({s for s, _ in summary}))
    colors = model_colors(model for _, model in summary)
    for split, axis in axes.items():
        for (s, model), stats in sorted(summary.items()):
            if s == split:
                axis.errorbar(stats["fit_seconds"][0], stats["test_accuracy"][0] * 100, xerr=stats["fit_seconds"][1],
                              yerr=stats["test_accuracy"][1] * 100, fmt="o", capsize=4, color=colors[model], label=model)
        axis.set_xscale("log")
        axis.xaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))  # labelled even within one decade
        axis.xaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
        axis.xaxis.set_minor_formatter(ticker.NullFormatter())  # minor labels (2x10^0, 3x10^0...) overlapped
        finish_axis(axis, "fit time, s (log)", "test accuracy, %", f"{split}: test accuracy vs fit time (mean ± sd over seeds)")
    save(figure, path)


def finish_axis(axis, xlabel: str, ylabel: str, title: str) -> None:
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)


def plot_learning_curves(cells: list[dict], path: Path) -> None:
    figure, axes = axes_per_split(sorted({c["split"] for c in cells}))
    colors = model_colors(c["model"] for c in cells)
    for split, axis in axes.items():
        for cell in sorted((c for c in cells if c["split"] == split), key=lambda c: (c["model"], c["seed"])):
            color = colors[cell["model"]]
            values = cell["history"]["val_accuracy"]
            axis.plot(range(1, len(values) + 1), np.array(values) * 100, color=color, alpha=0.8,
                      label=cell["model"] if cell["seed"] == 0 else None)
        finish_axis(axis, "epoch", "validation accuracy, %", f"{split}: validation accuracy per epoch (one line per seed)")
    save(figure, path)


def write_report(cells: list[dict], out: Path, seeds: int, skipped: dict[str, str] | None = None) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize(cells)
    notes = [*vgg16_bases(cells), *runs(cells)]
    ensembles, gaps, shipped = ensemble_lines(summary), generalization_lines(summary), shipped_table(summary)
    plot_accuracy_vs_time(summary, out / "accuracy_vs_fit_time.png")
    plot_learning_curves(cells, out / "learning_curves.png")
    checksums = {name: sha for cell in cells for name, sha in cell["data_checksums"].items()}
    text = [
        "# emnist-tune benchmark", "",
        f"Made {datetime.now(timezone.utc).isoformat(timespec='seconds')} on {machine()['platform']} "
        f"({machine()['cpus']} CPUs); seeds 0..{seeds - 1}; mean ± sd over seeds.", "",
        "The **test set is used only here**: tuning and model selection saw validation data alone (the last "
        "len(test) training images, the original study's rule); reported models keep their best validation epoch, "
        "but for `-refit` rows: the final policy trained on training + validation images for its whole schedule, "
        "so their validation columns are not held out.", "",
        "The *original* rows are the seed study's published figures (shared/BASELINES.md): full official release, "
        "a Colab notebook. Their times come from another machine and other data sizes; compare times only as "
        "ratios within one run, accuracies only loosely (our data may be a smaller re-split).", "",
        *([*notes, ""] if notes else []),
        *(["## The shipped models", "", "Test error as a ratio (lower is better); each split's tuned model as it ships "
           "(`-refit` where it was trained) against the original CNN and its untuned default trained alike.", "",
           *shipped, ""] if shipped else []),
        "## Tuned vs the baselines (test accuracy; test error as a ratio, lower is better)", "", *verdicts(summary), "",
        *(["## Ensembles vs their single tuned model", "", *ensembles, ""] if ensembles else []),
        *(["## Validation vs test (tuned models)", "", *gaps, ""] if gaps else []),
        *(["## Skipped", "", *[f"- {name}: {reason}" for name, reason in sorted((skipped or {}).items())], ""] if skipped else []),
        "## Evaluation time and accuracy (the original study's table)", "", *main_table(summary), "",
        "## Cost", "", *cost_table(summary), "",
        "## CNN / MLP ratios", "", *ratio_lines(summary), "",
        "## Plots", "", "![test accuracy vs fit time](accuracy_vs_fit_time.png)", "",
        "![learning curves](learning_curves.png)", "",
        "## Provenance", "", "| package | version |", "|---|---|",
        *[f"| {name} | {version} |" for name, version in versions().items()], "",
        "| data file | sha256 |", "|---|---|", *[f"| {name} | `{sha}` |" for name, sha in sorted(checksums.items())], "",
        "Every trained model is kept as `cells/<split>-<model>-seed<k>.keras` beside its manifest (config, seed, "
        "data checksums, metrics): `import models` (it registers the project's layers), then "
        "`keras.saving.load_model(path)` re-evaluates it.", "",
    ]
    write_atomic(out / "benchmark.md", "\n".join(text).encode())
    rows = [{"split": c["split"], "model": c["model"], "seed": c["seed"], **c["metrics"],
             **{key: (c.get("device") or {}).get(key) for key in ("device", "backend", "precision")}} for c in cells]
    write_atomic(out / "benchmark.json", (json.dumps(rows, indent=2) + "\n").encode())
    with open(out / "benchmark.csv", "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(dict.fromkeys(key for row in rows for key in row)))  # VGG16 rows have more
        writer.writeheader()
        writer.writerows(rows)
    return out / "benchmark.md"
