"""Matplotlib for files, never for a screen: the one place that picks the Agg backend."""

from __future__ import annotations

from pathlib import Path

from tuning.errors import UserError


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def image_path(text: str, option: str) -> Path:
    """The file an image given as `option TEXT` is written to: TEXT itself, or TEXT.png when it has no
    suffix (what matplotlib would write), and only in a format matplotlib writes, so that an image
    never replaces a file of another kind (a study storage, data)."""
    from matplotlib.backend_bases import FigureCanvasBase

    path = Path(text)
    if path.is_dir():
        raise UserError(f"{option} {text} is a folder; give a file path such as {path / 'grid.png'}")
    if not path.suffix:
        path = path.with_name(path.name + ".png")
    formats = FigureCanvasBase.get_supported_filetypes()
    if path.suffix[1:].lower() not in formats:
        raise UserError(f"{option} {text}: an image cannot be a {path.suffix} file; give a .png path "
                        f"(or {', '.join(sorted(set(formats) - {'png'}))})")
    return path


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
