"""What a benchmark's rows say: each tuned model against the baselines and its untuned default, each
ensemble against its single model, each tuned model's validation-test gap, and the one table of the
shipped models' figures."""

from __future__ import annotations

from data_pipeline import get_split
from tuning.families import FAMILIES
from tuning.settings import REFIT

BASELINE_NAMES = {f"baseline-{family.name}": family.label for family in FAMILIES.values()}


def verdicts(summary) -> list[str]:
    """Per split and tuned model: how it compares with every baseline in the run, on test accuracy
    (and test error, the figure the goals use); a baseline that never left chance is called so."""
    lines = []
    for (split, model), stats in sorted(summary.items()):
        baselines = [(name, summary[(split, name)]) for name in BASELINE_NAMES if (split, name) in summary]
        default = model.replace("tuned-", "default-", 1)  # the family's untuned default, trained alike
        if (split, default) in summary:
            baselines.append((default, summary[(split, default)]))
        if not model.startswith("tuned") or not baselines:
            continue
        ours = stats["test_accuracy"][0]
        parts = []
        for name, theirs_stats in baselines:
            theirs = theirs_stats["test_accuracy"][0]
            word = "beats" if ours > theirs else "does NOT beat"
            ratio = error_ratio(ours, theirs)
            untrained = (f"; it did not train in {theirs_stats['epochs'][0]:.0f} epochs (near chance)"
                         if theirs < 2.0 / get_split(split).num_classes else "")
            label = BASELINE_NAMES.get(name, f"the untuned default ({name})")
            parts.append(f"{word} {label} ({ours * 100:.2f}% vs {theirs * 100:.2f}%, "
                         f"test error {ratio:.2f}x{untrained})")
        lines.append(f"- {split}: {model} " + "; ".join(parts))
    if lines:
        return lines
    if not any(model.startswith("tuned") for _, model in summary):
        return ["- no tuned model in this run (add `tuned` to --models after `tune export`)"]
    return ["- no baseline in this run to compare with (add cnn, mlp or vgg16 to --models)"]


def ensemble_lines(summary) -> list[str]:
    """Per ensemble row: its test error and evaluation time per image against the single tuned model
    of the same family and schedule (tuned-cnn-ensemble against tuned-cnn, -final against -final)."""
    lines = []
    for (split, model), stats in sorted(summary.items()):
        single = summary.get((split, model.replace("-ensemble", "")))
        if "-ensemble" not in model or single is None:
            continue
        ours, theirs = stats["test_accuracy"][0], single["test_accuracy"][0]
        ratio = error_ratio(ours, theirs)
        time_ratio = stats["test_seconds"][0] / single["test_seconds"][0]
        lines.append(f"- {split}: {model}: test error {ratio:.2f}x {model.replace('-ensemble', '')}'s "
                     f"({ours * 100:.2f}% vs {theirs * 100:.2f}%); evaluation {time_ratio:.1f}x its time per image")
    return lines


#: A tuned model whose validation accuracy is further than this above its test accuracy was chosen
#: for the validation images more than it generalizes.
GAP_POINTS = 1.0


def held_out(summary, split: str, model: str) -> dict | None:
    """The row whose validation figure `model` did not train on: its own, or for a `-refit` row
    (trained on the validation images) its `-final` row's; None where the run has no such row."""
    return summary.get((split, model.removesuffix(REFIT) + "-final")) if model.endswith(REFIT) else summary[(split, model)]


def generalization_lines(summary) -> list[str]:
    """Per tuned row: validation and test accuracy (means over seeds) and the gap between them,
    in points, flagged where validation is more than GAP_POINTS above test."""
    lines = []
    for (split, model), stats in sorted(summary.items()):
        if not model.startswith("tuned"):
            continue
        if model.endswith(REFIT):  # it trained on the validation images: their figure is the -final row's
            validated = held_out(summary, split, model)
            if validated is None:
                lines.append(f"- {split}: {model}: no held-out validation figure (it trained on the validation "
                             f"images); add final to --schedule for the same config trained without them")
                continue
            val, test = validated["val_accuracy"][0], stats["test_accuracy"][0]
            gap = (val - test) * 100
            lines.append(f"- {split}: {model}: validation {val * 100:.2f}% (its -final row's: it trained on the "
                         f"validation images itself), test {test * 100:.2f}%, gap {gap:+.2f} pt")
            continue
        val, test = stats["val_accuracy"][0], stats["test_accuracy"][0]
        gap = (val - test) * 100
        flag = f": over {GAP_POINTS:g} pt, the config fits the validation images better than new ones" if gap > GAP_POINTS else ""
        lines.append(f"- {split}: {model}: validation {val * 100:.2f}%, test {test * 100:.2f}%, gap {gap:+.2f} pt{flag}")
    return lines


def error_ratio(ours: float, theirs: float) -> float:
    """Our test error over theirs (accuracies): below 1, ours errs less."""
    return (1 - ours) / (1 - theirs) if theirs < 1 else float("inf")


#: the schedules a tuned model ships with, best first: refit where it was trained, else the final
#: policy, else as its trial ran
SHIPPED_SUFFIXES = (REFIT, "-final", "")


def shipped_table(summary) -> list[str]:
    """One row per split and tuned model: the one to ship (its `-refit` row where there is one), its
    test accuracy, its test error against the original CNN's and its untuned default's (trained alike),
    the ensemble of the same schedule against the single model, and the validation-test gap
    (validation held out: a refit's is its `-final` row's)."""
    lines = ["| split | shipped model | test acc % | test error vs the original CNN | vs its untuned default | "
             "its ensemble: test error, evaluation time | validation - test, pt |", "|---|---|---:|---:|---:|---:|---:|"]
    tuned = {model.removesuffix(REFIT).removesuffix("-final") for _, model in summary
             if model.startswith("tuned-") and "-ensemble" not in model}
    for split in sorted({split for split, _ in summary}):
        for base in sorted(tuned):
            shipped = next((base + suffix for suffix in SHIPPED_SUFFIXES if (split, base + suffix) in summary), None)
            if shipped is None:
                continue
            test = summary[(split, shipped)]["test_accuracy"][0]
            lines.append(f"| {split} | {shipped} | {test * 100:.2f} | {compared(summary, split, test, 'baseline-cnn')} | "
                         f"{compared(summary, split, test, shipped.replace('tuned-', 'default-', 1))} | "
                         f"{ensemble_cell(summary, split, base)} | {gap_cell(summary, split, shipped, test)} |")
    return lines if len(lines) > 2 else []


def compared(summary, split: str, ours: float, other: str) -> str:
    if (split, other) not in summary:
        return "not in this run"
    return f"{error_ratio(ours, summary[(split, other)]['test_accuracy'][0]):.2f}x"


def ensemble_cell(summary, split: str, base: str) -> str:
    """The ensemble of `base` against its single model at the same schedule (an ensemble has no refit)."""
    for suffix in SHIPPED_SUFFIXES:
        ensemble, single = summary.get((split, f"{base}-ensemble{suffix}")), summary.get((split, base + suffix))
        if ensemble and single:
            ratio = error_ratio(ensemble["test_accuracy"][0], single["test_accuracy"][0])
            return f"{ratio:.2f}x, {ensemble['test_seconds'][0] / single['test_seconds'][0]:.1f}x ({base}{suffix})"
    return "none"


def gap_cell(summary, split: str, shipped: str, test: float) -> str:
    validated = held_out(summary, split, shipped)
    if validated is None:
        return "no held-out validation"
    return f"{(validated['val_accuracy'][0] - test) * 100:+.2f}"
