"""Matplotlib for files, never for a screen: the one place that picks the Agg backend."""

from __future__ import annotations


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def axes_per_split(splits: list[str]):
    """(figure, {split: axis}), one panel per split side by side."""
    plt = pyplot()
    figure, axes = plt.subplots(1, len(splits), figsize=(5.5 * len(splits), 4.2), squeeze=False)
    return figure, dict(zip(splits, axes[0]))


def save(figure, path, dpi: int = 90, tight: bool = True) -> None:
    """Write the figure and close it; tight=False keeps the figure's own margins (saves a draw)."""
    if tight:
        figure.tight_layout()
    figure.savefig(path, dpi=dpi)
    pyplot().close(figure)
