"""What a trial leaves for the dashboard: learning curves, confusion matrix, model summary, note."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tuning.errors import UserError, check_writable_folder
from tuning.plotting import pyplot, save
from tuning.trial.training import predict_classes

DEFAULT_ARTIFACTS = "studies/artifacts"


def artifact_location() -> str:
    """$TUNE_ARTIFACTS, else studies/artifacts: a folder (shared by every worker's machine for the
    dashboard to see them all: a shared disk), or an S3 bucket, s3://BUCKET (Optuna's
    Boto3ArtifactStore; boto3 reads the credentials and AWS_ENDPOINT_URL for MinIO or another S3)."""
    return os.environ.get("TUNE_ARTIFACTS") or DEFAULT_ARTIFACTS


def artifact_bucket() -> str | None:
    """The S3 bucket of an s3:// artifact store, else None; one line for a malformed one."""
    location = artifact_location()
    if not location.startswith("s3://"):
        return None
    bucket = location.removeprefix("s3://").rstrip("/")
    if not bucket or "/" in bucket:
        raise UserError(f"TUNE_ARTIFACTS={location!r}: an S3 artifact store is a bucket, s3://BUCKET (no folder in it)")
    return bucket


def artifact_dir() -> Path:
    """The folder of a folder artifact store."""
    return Path(artifact_location())


def check_artifact_store() -> None:
    """Before any work: a folder that can take files, or a bucket that exists and takes our credentials."""
    bucket = artifact_bucket()
    if bucket is None:
        check_writable_folder(artifact_dir(), "TUNE_ARTIFACTS")
        return
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        raise UserError("TUNE_ARTIFACTS=s3://... needs boto3: pip install -e \".[s3]\"") from None
    try:
        boto3.client("s3").head_bucket(Bucket=bucket)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        reason = {"404": "does not exist", "NoSuchBucket": "does not exist",
                  "403": "refuses these credentials"}.get(code, f"answers {code}")
        raise UserError(f"artifact bucket s3://{bucket} {reason}; create it, or check the AWS credentials "
                        "and TUNE_ARTIFACTS") from None
    except BotoCoreError as exc:
        raise UserError(f"cannot reach artifact bucket s3://{bucket}: {exc}; check AWS_ENDPOINT_URL and "
                        "the credentials") from None


def artifact_store():
    """Optuna's artifact store that TUNE_ARTIFACTS names (a folder is made if missing)."""
    bucket = artifact_bucket()
    if bucket is not None:
        from optuna.artifacts import Boto3ArtifactStore

        return Boto3ArtifactStore(bucket)
    from optuna.artifacts import FileSystemArtifactStore

    folder = artifact_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return FileSystemArtifactStore(folder)


def plot_curves(epoch_logs: list[dict], path: Path, title: str) -> None:
    plt = pyplot()
    epochs = np.arange(1, len(epoch_logs) + 1)
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for axis, metric in zip(axes, ("loss", "accuracy")):
        axis.plot(epochs, [log[metric] for log in epoch_logs], "o-", label="train")
        axis.plot(epochs, [log[f"val_{metric}"] for log in epoch_logs], "o-", label="validation")
        axis.set_xlabel("epoch")
        axis.set_title(metric)
        axis.set_xticks(epochs)
        axis.grid(alpha=0.3)
        axis.legend()
    figure.suptitle(title)
    figure.subplots_adjust(left=0.07, right=0.98, bottom=0.15, top=0.82, wspace=0.22)
    save(figure, path, tight=False)  # fixed margins: tight_layout costs a trial an extra draw


def confusion(labels: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    matrix = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(matrix, (labels.astype(np.int64), predicted.astype(np.int64)), 1)
    return matrix


def most_confused(matrix: np.ndarray, characters: list[str], top: int = 5) -> list[tuple[str, str, int]]:
    """(true, predicted, count) of the largest off-diagonal cells."""
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(off, axis=None)[::-1][:top]
    cells = [np.unravel_index(index, off.shape) for index in order]
    return [(characters[t], characters[p], int(off[t, p])) for t, p in cells if off[t, p] > 0]


def plot_confusion(matrix: np.ndarray, characters: list[str], path: Path, title: str) -> None:
    plt = pyplot()
    rates = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    size = 3 + 0.14 * len(characters)
    figure, axis = plt.subplots(figsize=(size, size))
    axis.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ticks = np.arange(len(characters))
    font = 9 if len(characters) <= 26 else 6
    axis.set_xticks(ticks, characters, fontsize=font, rotation=90)
    axis.set_yticks(ticks, characters, fontsize=font)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    axis.set_title(title)
    margin = 0.75 / size  # room for the tick labels and the axis label, in figure fractions per inch
    figure.subplots_adjust(left=margin, bottom=margin, right=1 - 0.25 / size, top=1 - 0.5 / size)
    save(figure, path, tight=False)


def note_markdown(trial, config: dict, epoch_logs: list[dict], pairs, pruned: bool) -> str:
    attrs = trial.user_attrs
    best = max(log["val_accuracy"] for log in epoch_logs) if epoch_logs else float("nan")
    lines = [
        f"## Trial {trial.number}: {config['family']}" + (" (the original study's model)" if attrs.get("baseline") else ""),
        "",
        f"- best validation accuracy **{best:.4f}** after {len(epoch_logs)} epoch(s)" + (" (pruned)" if pruned else ""),
        f"- fit {attrs.get('fit_seconds', 0):.1f} s, {attrs.get('images_per_second', 0):,.0f} training images/s, "
        f"{attrs.get('params_count', 0):,} parameters",
    ]
    if pairs:
        lines.append("- most confused (true → predicted, count): " + ", ".join(f"`{t}` → `{p}` ({n})" for t, p, n in pairs))
    lines += ["", "| key | value |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in config.items()]
    return "\n".join(lines)


@dataclass(frozen=True)
class Outcome:
    """What a trial's artifacts show: the model it trained, its config, its epochs' logs, and
    whether it was pruned (then it gets no confusion matrix)."""

    model: object
    config: dict
    epoch_logs: list[dict]
    pruned: bool


def publish(trial, store, outcome: Outcome, holdout, characters: list[str]) -> None:
    """Upload the trial's curves, confusion matrix (finished trials) and summary; write its note."""
    import optuna_dashboard
    from optuna.artifacts import upload_artifact

    model, config, epoch_logs, pruned = outcome.model, outcome.config, outcome.epoch_logs, outcome.pruned
    title = f"trial {trial.number}: {config['family']}"
    pairs = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = []
        if epoch_logs:
            plot_curves(epoch_logs, folder / f"trial-{trial.number}-learning-curves.png", f"{title}, learning curves")
            files.append(folder / f"trial-{trial.number}-learning-curves.png")
        if not pruned:
            predicted = predict_classes(model, holdout.val_images)
            matrix = confusion(holdout.val_labels, predicted, len(characters))
            pairs = most_confused(matrix, characters)
            plot_confusion(matrix, characters, folder / f"trial-{trial.number}-confusion.png", f"{title}, validation confusion")
            files.append(folder / f"trial-{trial.number}-confusion.png")
        summary = folder / f"trial-{trial.number}-model-summary.txt"
        lines: list[str] = []
        model.summary(print_fn=lambda line, *args, **kwargs: lines.append(line), line_length=100)
        summary.write_text("\n".join(lines) + "\n")
        files.append(summary)
        for path in files:
            upload_artifact(artifact_store=store, file_path=str(path), study_or_trial=trial)
    optuna_dashboard.save_note(trial, note_markdown(trial, config, epoch_logs, pairs, pruned))
