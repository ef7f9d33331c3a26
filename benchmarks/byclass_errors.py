"""Where byclass' test errors are: how much of them is case the images cannot show.

    python benchmarks/byclass_errors.py [--config studies/best/byclass-cnn.json] [--seed 0]
        [--data-dir ../shared/emnist-dev]

Trains the exported tuned CNN and the original study's CNN once each on byclass (`tune benchmark`'s
cell: best validation epoch kept), then splits each one's test error into confusions between
the upper and lower case of a letter that bymerge merges (c/C, o/O, s/S, ...: EMNIST scales every
character to the same box, so size no longer tells them apart) and the rest. Also prints a floor
from the labels alone: the error of a reader who knows every glyph but not its case and answers
the more frequent case of each merged pair. The merged pairs come from the two mapping files.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.contract import Parser, existing_file, guarded, seed_int  # noqa: E402

from tuning._quiet import import_backend_quietly  # noqa: E402


def case_groups(data_dir: Path) -> np.ndarray:
    """byclass id -> group id, where the two cases of a letter that bymerge merges share a group."""
    from data_pipeline import get_split

    byclass, bymerge = get_split("byclass").characters(data_dir), set(get_split("bymerge").characters(data_dir))
    return np.array([byclass.index(c.upper()) if c.islower() and c not in bymerge else i
                     for i, c in enumerate(byclass)])


def case_blind_floor(labels: np.ndarray, groups: np.ndarray) -> float:
    """Error of a reader that is right up to case and picks the more frequent case of each merged pair."""
    counts = np.bincount(labels, minlength=len(groups))
    return sum(counts[groups == g].sum() - counts[groups == g].max() for g in np.unique(groups)) / len(labels)


def main() -> None:
    parser = Parser(prog="byclass_errors.py", description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=existing_file, default=str(REPO / "studies" / "best" / "byclass-cnn.json"))
    parser.add_argument("--seed", type=seed_int, default=0)
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "emnist-dev"))
    args = parser.parse_args()
    import_backend_quietly()

    import models
    from data_pipeline import load_split, train_val_split
    from tuning.benchmark.cells import run_cell
    from tuning.export import read_export
    from tuning.trial.feature_cache import FeatureCache
    from tuning.trial.training import predict_classes, release_memory

    tuned = read_export(Path(args.config))["trials"][0]["config"]  # checked whole before any work
    data = load_split("byclass", args.data_dir)
    holdout = train_val_split(data)
    groups = case_groups(Path(args.data_dir))
    truth = data.test_labels
    print(f"byclass test: {len(truth)} images; {len(set(groups))} classes up to case; "
          f"case-blind floor (labels alone): {case_blind_floor(truth, groups):.2%}")
    configs = {"tuned CNN": tuned,
               "original CNN": models.baseline_config("cnn", "byclass", data.split.num_classes)}
    for name, config in configs.items():
        config = models.normalize(config)
        _, model = run_cell(name, config, args.seed, data, holdout, FeatureCache())  # trained as a benchmark cell
        guess = predict_classes(model, data.test_images)
        wrong = guess != truth
        case_only = wrong & (groups[guess] == groups[truth])
        print(f"{name:12} ({config['epochs']} epochs): test error {wrong.mean():.2%} = case of a merged pair "
              f"{case_only.mean():.2%} + the rest {(wrong & ~case_only).mean():.2%}", flush=True)
        release_memory()


if __name__ == "__main__":
    guarded(main)
