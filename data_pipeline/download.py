"""Fetch the official EMNIST release, resumably, and verify every file against NIST's sha256.

The archive is downloaded to ``<data_dir>/.download/gzip.zip.part`` (continued with an HTTP Range
request after an interruption), then each asked file is extracted to a temporary name, checked
against the official sha256 and size, and only then moved into place: a failure at any point
leaves the data folder as it was.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

from data_pipeline.hashing import sha256_file
from data_pipeline.errors import DataError
from data_pipeline.idx import read_idx
from data_pipeline.splits import OFFICIAL_FILES, RELEASE_URL, SPLITS, Split

CHUNK = 1 << 20


def fetch(url: str, target: Path, progress: bool = True, timeout: float = 60.0) -> Path:
    """Download `url` to `target`, resuming `target.part` if an earlier run left one."""
    from tqdm import tqdm

    part = target.with_name(target.name + ".part")
    target.parent.mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # the part file is already whole
            os.replace(part, target)
            return target
        raise DataError(f"{url}: HTTP {exc.code} {exc.reason}; check the URL or try again later") from None
    except (urllib.error.URLError, OSError) as exc:
        raise DataError(
            f"{url}: cannot connect ({getattr(exc, 'reason', exc)}); without internet, copy the EMNIST "
            "gzip files into the data folder by hand (see README)"
        ) from None
    with response:
        if have and response.status != 206:
            have = 0  # the server ignored Range: start over
        total = response.length + have if response.length is not None else None
        with open(part, "ab" if have else "wb") as stream, tqdm(
            total=total, initial=have, unit="B", unit_scale=True, desc="gzip.zip", disable=not progress
        ) as bar:
            try:
                while block := response.read(CHUNK):
                    stream.write(block)
                    bar.update(len(block))
            except (OSError, urllib.error.URLError) as exc:
                raise DataError(
                    f"{url}: download interrupted after {part.stat().st_size} bytes ({exc}); "
                    "run the same command again to resume"
                ) from None
    if total is not None and part.stat().st_size < total:
        raise DataError(
            f"{url}: download stopped at {part.stat().st_size} of {total} bytes; run the same command again to resume"
        )
    os.replace(part, target)
    return target


def extract_verified(
    archive: Path, names: list[str], data_dir: Path, official: dict[str, tuple[str, int]] = OFFICIAL_FILES
) -> list[Path]:
    """Extract `names` from the release zip into `data_dir`, each verified before it is moved in."""
    try:
        zipped = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        archive.unlink(missing_ok=True)
        raise DataError(f"{archive}: not a zip archive ({exc}); deleted it, run the command again") from None
    with zipped:
        members = {Path(info.filename).name: info for info in zipped.infolist()}
        staged = []
        try:
            for name in names:
                if name not in members:
                    raise DataError(f"{archive}: has no {name}; is this the EMNIST gzip.zip release?")
                tmp = data_dir / f".{name}.download"
                staged.append(tmp)
                digest = hashlib.sha256()
                with zipped.open(members[name]) as source, open(tmp, "wb") as sink:
                    while block := source.read(CHUNK):
                        digest.update(block)
                        sink.write(block)
                want_sha, want_size = official[name]
                if digest.hexdigest() != want_sha or tmp.stat().st_size != want_size:
                    raise DataError(
                        f"{name}: sha256 {digest.hexdigest()[:12]}... is not the official {want_sha[:12]}...; "
                        f"the archive is damaged or not the official release; delete {archive} and download again"
                    )
            for tmp, name in zip(staged, names):
                os.replace(tmp, data_dir / name)
        finally:
            for tmp in staged:
                tmp.unlink(missing_ok=True)
    return [data_dir / name for name in names]


def check_url(url: str) -> str:
    """`url`, when it is an http(s) address (urllib would also read local files and other schemes)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise DataError(f"release URL {url!r} is not an http(s) address; give the address of the official gzip.zip "
                        "or a mirror of it, or copy the emnist-*.gz files into the data folder by hand")
    return url


def download(splits: list[Split], data_dir: Path, url: str = RELEASE_URL, progress: bool = True) -> list[Path]:
    """Fetch and verify the files of `splits` into `data_dir`. A failure leaves no folder it made
    behind empty: only a partial archive, which the next run resumes."""
    check_url(url)
    made = [folder for folder in (data_dir / ".download", data_dir, *data_dir.parents) if not folder.exists()]
    names = [name for split in splits for name in split.files]
    names = list(dict.fromkeys(names))  # bymerge and balanced share nothing, but keep order, no repeats
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        archive = fetch(url, data_dir / ".download" / "gzip.zip", progress=progress)
        written = extract_verified(archive, names, data_dir)
    except BaseException:
        for folder in made:  # deepest first
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        raise
    shutil.rmtree(data_dir / ".download", ignore_errors=True)  # 535 MB: the verified files are what we keep
    return written


def file_status(path: Path, name: str) -> str:
    """official / modified (readable, not the official bytes) / corrupt / missing."""
    if not path.exists():
        plain = path.with_name(name.removesuffix(".gz"))
        if name.endswith(".gz") and plain.exists():
            path = plain  # an unzipped copy is never the official bytes, but may be sound
        else:
            return "missing"
    elif sha256_file(path) == OFFICIAL_FILES[name][0]:
        return "official"
    try:
        if name.endswith("mapping.txt"):
            split = SPLITS[name.split("-")[1]]
            split.characters(path.parent)
        else:
            read_idx(path)
    except DataError:
        return "corrupt"
    return "modified"


def verify(data_dir: Path) -> list[dict[str, str]]:
    return [
        {"file": name, "split": name.split("-")[1], "status": file_status(data_dir / name, name)}
        for name in OFFICIAL_FILES
    ]
