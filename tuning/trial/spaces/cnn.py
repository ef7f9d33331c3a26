"""The configurable CNN's search space: conv blocks, their width within a cost bound, the head."""

from __future__ import annotations

from typing import Sequence

from models import normalize
from tuning.trial.spaces._sampling import ADAM_START, Sampler, dense_head, training_keys

#: generic starting points: the same for every split and not tuned on the dev data, so a study's
#: best-so-far is a sound model within its first minutes whatever the split
KNOWN_GOOD = (
    # Keras' "Simple MNIST convnet" example (conv 32, pool, conv 64, pool, dense: about 99% on
    # MNIST in a dozen epochs) with a third block, batch norm that settles within an epoch and a
    # warm-up-cosine schedule, which is what lets it converge in a 2-4 epoch trial.
    {"padding": "same", "kernel_size": 3, "conv_blocks": 3, "filters_growth": 2.0, "filters_base": 32,
     "block1_convs": 1, "block2_convs": 1, "block3_convs": 1, "batch_norm": True, "block_dropout": 0.1,
     "head": "flatten", "dense_layers": 1, "dense1_units": 128, "dense_dropout": 0.3,
     "label_smoothing": 0.0, "augment": False, **ADAM_START},
    # The double-conv VGG pattern of the strongest simple MNIST CNNs (32C3-32C3-P-64C3-64C3-P-dense,
    # e.g. Deotte's Kaggle study "How to choose CNN architecture MNIST", 99.75%), with AdamW.
    {"padding": "same", "kernel_size": 3, "conv_blocks": 2, "filters_growth": 2.0, "filters_base": 32,
     "block1_convs": 2, "block2_convs": 2, "batch_norm": True, "block_dropout": 0.2,
     "dense_layers": 1, "dense1_units": 256, "dense_dropout": 0.4, "label_smoothing": 0.0, "augment": False,
     **ADAM_START, "optimizer": "adamw", "learning_rate": 1e-3, "weight_decay": 4e-3},
)


#: The costliest CNN the search draws: 1.25x the multiply-adds of the original study's big CNN
#: (a third of the old space cost more than it, up to 9.5x, which one trial could spend a budget on).
#: A study on a large split bounds it lower (tuning.settings.max_macs).
CNN_MAX_MACS = 50_000_000


def cnn_macs(filters: Sequence[int], convs: Sequence[int], kernel: int, padding: str) -> int:
    """Multiply-adds of one forward pass through the conv blocks (2x2 pooling after each)."""
    size, channels, total = 28, 1, 0
    for width, count in zip(filters, convs):
        for _ in range(count):
            size -= kernel - 1 if padding == "valid" else 0
            total += size * size * kernel * kernel * channels * width
            channels = width
        size = (size + 1) // 2 if padding == "same" else size // 2
    return total


def conv_macs(config: dict) -> int:
    """Multiply-adds of a CNN config's conv stack (0 for another family): what the cost bound bounds."""
    if config["family"] != "cnn":
        return 0
    return cnn_macs(config["filters"], config["convs_per_block"], config["kernel_size"], config["padding"])


def widest_base(growth: float, blocks: int, convs: Sequence[int], kernel: int, padding: str,
                max_macs: int = CNN_MAX_MACS) -> int:
    """The most filters (a multiple of 8, 16..96) the first block may have within `max_macs`
    (16 where even that is over: the structure is drawn first, and stays)."""
    fits = [base for base in range(16, 97, 8)
            if cnn_macs(block_filters(base, growth, blocks), convs, kernel, padding) <= max_macs]
    return max(fits, default=16)


def block_filters(base: int, growth: float, blocks: int) -> list[int]:
    return [min(256, int(round(base * growth**b))) for b in range(blocks)]


def space(s: Sampler, num_classes: int, epochs: int, max_macs: int = CNN_MAX_MACS) -> dict:
    # 'valid' padding is the seed study's; it shrinks the map, so it gets fewer, smaller blocks.
    padding = s.categorical("padding", ["same", "valid"])
    valid = padding == "valid"
    kernel = 3 if valid else s.categorical("kernel_size", [3, 5])
    blocks = s.int("conv_blocks", 2, 3 if valid else 4)
    growth = s.categorical("filters_growth", [1.0, 1.5, 2.0])
    convs = [s.int(f"block{b}_convs", 1, 1 if valid and b == 3 else 2) for b in range(1, blocks + 1)]
    # the width comes last, bounded by what the drawn structure costs: no trial is a budget's worth
    base = s.int("filters_base", 16, widest_base(growth, blocks, convs, kernel, padding, min(max_macs, CNN_MAX_MACS)), step=8)
    batch_norm = s.categorical("batch_norm", [False, True])
    return normalize(
        {
            "family": "cnn",
            "num_classes": num_classes,
            "padding": padding,
            "kernel_size": kernel,
            "filters": block_filters(base, growth, blocks),
            "convs_per_block": convs,
            # momentum 0.9 settles within an epoch; the original's 0.99 lags for hundreds of steps
            # (models/cnn.py), so the search never draws it: only the original's own trial has it
            "batch_norm": batch_norm,
            "block_dropout": s.float("block_dropout", 0.0, 0.3),
            # global pooling only on a map already pooled to 4x4 or less: on 7x7 or 14x14 it throws
            # away where the strokes are
            "head": s.categorical("head", ["flatten", "gap"]) if blocks >= 3 else "flatten",
            "dense_units": dense_head(s),
            "dense_dropout": s.float("dense_dropout", 0.0, 0.5),
            "label_smoothing": s.float("label_smoothing", 0.0, 0.1),
            "augment": s.categorical("augment", [False, True]),
            **training_keys(s, epochs),
        }
    )


def baseline_params(config: dict, common: dict) -> dict:
    filters = config["filters"]
    return common | {
        "padding": config["padding"],
        "conv_blocks": len(filters),
        "filters_base": filters[0],
        "filters_growth": filters[1] / filters[0] if len(filters) > 1 else 1.0,
        **{f"block{b}_convs": convs for b, convs in enumerate(config["convs_per_block"], start=1)},
        "batch_norm": config["batch_norm"],  # its momentum (0.99) is the original trial's own
        "block_dropout": 0.0,
        **({"head": config["head"]} if len(filters) >= 3 else {}),
        "dense_dropout": config["dense_dropout"],
        "label_smoothing": 0.0,
        "augment": False,
    }
