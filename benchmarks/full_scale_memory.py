"""Peak memory of one worker at the full release's size, with synthetic pixels (the real training
images are not to be had here): a `tune start` of one trial, its RSS high-water mark read from /proc.

    python benchmarks/full_scale_memory.py [--split byclass] [--model cnn] [--max-epochs 1] [--folder /tmp/emnist-full]

The split's files are written at the official sizes (byclass: 697,932 training and 116,323 test
images; per class rounded up, so a few more), once, into --folder; the .npy cache goes there too.
Goal: peak RSS <= 2.5 GB during a byclass trial.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.contract import Parser, count, family_name, guarded  # noqa: E402

from data_pipeline import get_split  # noqa: E402
from data_pipeline.synthetic import write_split  # noqa: E402
from tuning.errors import check_writable_folder  # noqa: E402

#: the official release's image counts (shared/BASELINES.md, the EMNIST paper)
OFFICIAL = {"byclass": (697_932, 116_323), "bymerge": (697_932, 116_323), "balanced": (112_800, 18_800),
            "letters": (124_800, 20_800), "digits": (240_000, 40_000), "mnist": (60_000, 10_000)}


def high_water_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def main() -> None:
    parser = Parser(prog="full_scale_memory.py", description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="byclass", choices=sorted(OFFICIAL))
    parser.add_argument("--model", type=family_name, default="cnn")
    parser.add_argument("--max-epochs", type=count(20), default=1)
    parser.add_argument("--folder", default="/tmp/emnist-full")
    args = parser.parse_args()
    folder, split = Path(args.folder), get_split(args.split)
    check_writable_folder(folder, "--folder")
    train, test = OFFICIAL[args.split]
    if not (folder / split.file_name("train-images")).exists():
        print(f"writing {args.split} at full size ({train:,} train, {test:,} test images) into {folder} ...", flush=True)
        write_split(folder, args.split, train_per_class=math.ceil(train / split.num_classes),
                    test_per_class=math.ceil(test / split.num_classes))
    env = {**os.environ, "EMNIST_CACHE_DIR": str(folder / "cache"), "TUNE_ARTIFACTS": str(folder / "artifacts")}
    command = [sys.executable, "-m", "tuning.cli", "start", "--split", args.split, "--model", args.model,
               "--trials", "1", "--max-epochs", str(args.max_epochs), "--data-dir", str(folder),
               "--storage", f"sqlite:///{folder}/memory-{time.time_ns()}.db"]
    start = time.monotonic()
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    peak = 0.0
    while process.poll() is None:
        peak = max(peak, high_water_mb(process.pid))
        time.sleep(0.2)
    output = process.stdout.read()
    print(output.strip().splitlines()[-6] if output.strip() else "(no output)")
    print(f"{args.split} at full size, {args.model}, 1 trial of {args.max_epochs} epoch(s): exit {process.returncode}, "
          f"{time.monotonic() - start:.0f} s, worker peak RSS {peak:,.0f} MB ({peak / 1024:.2f} GB; goal <= 2.5 GB)")


if __name__ == "__main__":
    guarded(main)
