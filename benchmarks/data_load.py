"""Cold (gunzip + parse + cache) vs warm (memory map) load of one split: time and peak memory.

    python benchmarks/data_load.py [--split byclass] [--data-dir ../shared/emnist-dev] [--repeats 3]

Each measurement runs in a fresh process with its own empty (cold) or filled (warm) cache.
Memory is the growth of peak RSS over the process's RSS before loading, with every array byte
touched, against the raw uint8 bytes of the split's four arrays. Goals: warm load
<= 0.5 s, warm memory <= 1.1x raw bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.contract import Parser, check_split_files, count, guarded, split_name  # noqa: E402


def rss_bytes() -> int:
    with open("/proc/self/statm") as stream:
        return int(stream.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def child(split: str, data_dir: str) -> None:
    from data_pipeline import load_split

    before = rss_bytes()
    start = time.perf_counter()
    data = load_split(split, data_dir)
    seconds = time.perf_counter() - start
    arrays = (data.train_images, data.train_labels, data.test_images, data.test_labels)
    raw = sum(a.nbytes for a in arrays)
    checksum = sum(int(a.sum(dtype="uint64")) for a in arrays)  # touch every byte, as training would
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": seconds, "peak_growth": peak - before, "raw": raw, "checksum": checksum}))


def measure(split: str, data_dir: str, cache: str) -> dict:
    env = {**os.environ, "EMNIST_CACHE_DIR": cache, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, __file__, "--child", "--split", split, "--data-dir", data_dir],
        env=env, capture_output=True, text=True, check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = Parser(prog="data_load.py", description=__doc__.splitlines()[0])
    parser.add_argument("--split", type=split_name, default="byclass")
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "emnist-dev"))
    parser.add_argument("--repeats", type=count(100), default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.split, args.data_dir)
    with tempfile.TemporaryDirectory() as cache:  # the files checked without warming a cache the runs use
        os.environ["EMNIST_CACHE_DIR"] = cache
        check_split_files(args.split, args.data_dir)
        del os.environ["EMNIST_CACHE_DIR"]
    rows = []
    for repeat in range(args.repeats):
        with tempfile.TemporaryDirectory() as cache:
            cold = measure(args.split, args.data_dir, cache)
            warm = measure(args.split, args.data_dir, cache)
        assert cold["checksum"] == warm["checksum"], "warm load returned other bytes than cold"
        rows.append((cold, warm))
    raw = rows[0][0]["raw"]
    print(f"{args.split} from {args.data_dir}: raw uint8 arrays {raw / 1e6:.1f} MB, {args.repeats} repeats")
    print(f"{'':6} {'seconds (min / median)':>24} {'peak memory / raw (median)':>28}")
    for index, name in enumerate(("cold", "warm")):
        seconds = sorted(r[index]["seconds"] for r in rows)
        ratios = sorted(r[index]["peak_growth"] / raw for r in rows)
        print(f"{name:6} {seconds[0]:>11.3f} / {seconds[len(seconds) // 2]:<11.3f} {ratios[len(ratios) // 2]:>27.2f}x")
    warm_s = sorted(r[1]["seconds"] for r in rows)[len(rows) // 2]
    warm_mem = sorted(r[1]["peak_growth"] / raw for r in rows)[len(rows) // 2]
    print(f"goal warm <= 0.5 s: {'met' if warm_s <= 0.5 else 'MISSED'} ({warm_s:.3f} s); "
          f"goal warm memory <= 1.1x raw: {'met' if warm_mem <= 1.1 else 'MISSED'} ({warm_mem:.2f}x)")


if __name__ == "__main__":
    guarded(main)
