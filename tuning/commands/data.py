"""`tune data download | verify | info`: the data pipeline, as a user drives it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from data_pipeline import (DEFAULT_DATA_DIR, RELEASE_URL, download, load_split, parse_split_list, resolve_data_dir,
                           train_val_split, upright, verify)
from tuning.errors import UserError, check_writable_folder
from tuning.plotting import image_path, pyplot, save


def cmd_download(args) -> int:
    splits = parse_split_list(args.splits)
    data_dir = Path(args.data_dir or os.environ.get("EMNIST_DATA_DIR") or DEFAULT_DATA_DIR)
    if data_dir.is_file():
        resolve_data_dir(data_dir)  # raises the one-line "is a file" error
    check_writable_folder(data_dir, "--data-dir")
    url = args.url or os.environ.get("EMNIST_RELEASE_URL") or RELEASE_URL
    written = download(splits, data_dir, url=url, progress=not args.quiet)
    print(f"verified {len(written)} files against the official sha256 in {data_dir}")
    return 0


def cmd_verify(args) -> int:
    data_dir = resolve_data_dir(args.data_dir)
    rows = verify(data_dir)
    if all(row["status"] == "missing" for row in rows):
        raise UserError(f"{data_dir} holds no EMNIST file; run `tune data download --data-dir {data_dir}`, "
                        "or pass the folder that holds the emnist-*.gz files with --data-dir")
    if args.json:
        print(json.dumps({"data_dir": str(data_dir), "files": rows}, indent=2))
    else:
        for row in rows:
            print(f"{row['status']:<9} {row['file']}")
        counts = {status: sum(row["status"] == status for row in rows) for status in ("official", "modified", "corrupt", "missing")}
        print(", ".join(f"{n} {status}" for status, n in counts.items()))
    return 1 if any(row["status"] == "corrupt" for row in rows) else 0


def split_info(name: str, data_dir) -> dict:
    data = load_split(name, data_dir)
    holdout = train_val_split(data)
    characters = data.split.characters(resolve_data_dir(data_dir))
    counts = np.bincount(holdout.train_labels, minlength=data.split.num_classes)
    smallest, largest = int(np.argmin(counts)), int(np.argmax(counts))
    return {
        "split": data.split.name,
        "classes": data.split.num_classes,
        "train": len(holdout.train_labels),
        "val": len(holdout.val_labels),
        "test": len(data.test_labels),
        "smallest_class": {"label": smallest, "character": characters[smallest], "train_images": int(counts[smallest])},
        "largest_class": {"label": largest, "character": characters[largest], "train_images": int(counts[largest])},
        "checksums": data.checksums,
    }


def cmd_info(args) -> int:
    grid = image_path(args.grid, "--grid") if args.grid else None
    if grid:
        check_writable_folder(grid.parent, "--grid")
    info = split_info(args.split, args.data_dir)
    if grid:
        write_grid(args.split, args.data_dir, grid)
        info["grid"] = str(grid)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"split {info['split']}: {info['classes']} classes")
    print(f"  train {info['train']}  val {info['val']} (carved from train)  test {info['test']}")
    for key in ("smallest_class", "largest_class"):
        row = info[key]
        print(f"  {key.replace('_', ' ')}: {row['character']!r} (label {row['label']}) with {row['train_images']} train images")
    if grid:
        print(f"  sample grid: {grid}")
    return 0


def write_grid(name: str, data_dir, out: Path, per_row: int = 10, rows: int = 6) -> None:
    """A PNG of upright training images, each titled with the character it stands for."""
    plt = pyplot()
    data = load_split(name, data_dir)
    characters = data.split.characters(resolve_data_dir(data_dir))
    picks = np.random.default_rng(0).choice(len(data.train_labels), size=per_row * rows, replace=False)
    figure, axes = plt.subplots(rows, per_row, figsize=(per_row * 0.9, rows * 1.05))
    for axis, index in zip(axes.flat, picks):
        axis.imshow(upright(data.train_images[index]), cmap="gray_r")
        axis.set_title(characters[data.train_labels[index]], fontsize=9)
        axis.axis("off")
    figure.suptitle(f"EMNIST {name}: training samples", fontsize=11)
    out.parent.mkdir(parents=True, exist_ok=True)
    save(figure, out, dpi=100)
