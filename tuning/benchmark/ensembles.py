"""Training an ensemble config: each member on its own config, then joined; with `selection`
greedy, weighted by forward selection with replacement over the members' validation predictions
(Caruana et al. 2004, as auto-sklearn and AutoGluon build theirs), so a member joins only where it helps."""

from __future__ import annotations

import numpy as np

import models
from tuning.trial.training import fit


def keep_best(config: dict):
    """A callback that keeps the weights of the best validation epoch."""
    import keras

    return keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=config["epochs"], restore_best_weights=True)


def fit_ensemble(config: dict, holdout) -> tuple[object, dict, dict]:
    """(the joined compiled model, the members' epochs one after another, the config as trained:
    with its selection's weights)."""
    members, history = models.build_members(config), {}
    for member, member_config in zip(members, config["members"]):
        for key, values in fit(member, member_config, holdout, callbacks=[keep_best(member_config)]).history.items():
            history.setdefault(key, []).extend(values)
    if config.get("selection") == "greedy":
        probabilities = [member_probabilities(member, holdout.val_images) for member in members]
        config = {**config, "weights": greedy_weights(probabilities, holdout.val_labels)}
    return models.compile_ensemble(members, config), history, config


def member_probabilities(model, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
    return np.concatenate([np.asarray(model(images[i : i + batch_size], training=False), dtype=np.float64)
                           for i in range(0, len(images), batch_size)])


def greedy_weights(probabilities: list[np.ndarray], labels: np.ndarray, rounds: int | None = None) -> list[int]:
    """Counts per member from forward selection with replacement: each round adds the member whose
    joining makes the averaged prediction most accurate on `labels` (log loss breaks ties); the
    counts are those of the best round, so a member that only hurts gets 0."""
    rounds = rounds or 2 * len(probabilities)
    counts, total = [0] * len(probabilities), np.zeros_like(probabilities[0])
    best, best_counts = (-1.0, 0.0), counts
    for size in range(1, rounds + 1):
        scores = [score((total + member) / size, labels) for member in probabilities]
        chosen = max(range(len(scores)), key=lambda index: scores[index])
        counts = [*counts[:chosen], counts[chosen] + 1, *counts[chosen + 1:]]
        total = total + probabilities[chosen]
        if scores[chosen] > best:
            best, best_counts = scores[chosen], counts
    return best_counts


def score(probabilities: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(accuracy, minus log loss): higher is better."""
    picked = probabilities[np.arange(len(labels)), labels]
    return float(np.mean(np.argmax(probabilities, axis=1) == labels)), float(np.mean(np.log(np.maximum(picked, 1e-12))))
