"""The one table of the six EMNIST splits; every other module asks it, never spells a split out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from data_pipeline.errors import DataError

#: The official release archive (NIST). ``tune data download`` fetches it.
RELEASE_URL = "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip"

#: sha256 and byte size of every file of the official release's ``gzip/`` folder.
#: The .gz rows are NIST's published figures; the mapping rows are the hashes of the
#: byte-exact copies in ``shared/emnist`` (the release ships them, NIST lists no hash).
OFFICIAL_FILES: dict[str, tuple[str, int]] = {
    "emnist-balanced-test-images-idx3-ubyte.gz": ("117fc12b015e37ea98bfb2cbba3f77c3782c056cdbd219b87abfc8661d7135db", 4714707),
    "emnist-balanced-test-labels-idx1-ubyte.gz": ("a67cac948379b67270b9a4d0a01c8ec661598accf2f2b1964340b7c83cb175cd", 13504),
    "emnist-balanced-train-images-idx3-ubyte.gz": ("74295e75e4e9fa2c102147460ee7eb763653d5132d883a84fb88932bfb8d2db4", 28207740),
    "emnist-balanced-train-labels-idx1-ubyte.gz": ("b46d41e5156a0a8aaaa4d18979fdd1588850fa8571018acffd5d93b325a7d6ed", 80618),
    "emnist-byclass-test-images-idx3-ubyte.gz": ("5ec835bd5d5b1a66378a132e727fef20fe994b3cc666899befcca5ac766f50cd", 28908322),
    "emnist-byclass-test-labels-idx1-ubyte.gz": ("501e305eeeacb093b162592d80e8a2632040872360fa6d85cfcb2200d91ca92a", 81839),
    "emnist-byclass-train-images-idx3-ubyte.gz": ("9e21987f03a6eb8b870187e785883ddad96947299587908f1a7ec2ca0f4be5f0", 173367313),
    "emnist-byclass-train-labels-idx1-ubyte.gz": ("f7ef403d48dc18a89dae0d83d11ee69cecb6e1c12c3a961d03712e495c02a8fa", 491603),
    "emnist-bymerge-test-images-idx3-ubyte.gz": ("5e5815ec1b522089134435f7c55e75a00960b58414793593ffff23efc0821683", 28905295),
    "emnist-bymerge-test-labels-idx1-ubyte.gz": ("8bda1516255683ba9071e141947ca0c91a911176065cdd6259b0b4d8dc5b5f35", 79351),
    "emnist-bymerge-train-images-idx3-ubyte.gz": ("39bf8c68037dad40db35348895f7e4e056e8c0a005ab78869c9fbc2c96e947be", 173375281),
    "emnist-bymerge-train-labels-idx1-ubyte.gz": ("2c47293b9e62d6abf6ad05fbf67e40baa32adfd380b8d7b44dcc35534b64e1f1", 476444),
    "emnist-digits-test-images-idx3-ubyte.gz": ("20ebe43509264f7639d37c835a3f0b009e90b29e00a099a03101abe1644a3f63", 9908519),
    "emnist-digits-test-labels-idx1-ubyte.gz": ("bad1834c45d5988e270b99d43b13edc3fd898f658ffbc2caf2846ef27f7b05b0", 19960),
    "emnist-digits-train-images-idx3-ubyte.gz": ("f7c95004d14d81af89522e67d8f0c781dfb3bd544181c81bfe1eb6b41c35b726", 59515779),
    "emnist-digits-train-labels-idx1-ubyte.gz": ("6638a6ff5fe2eefd9cca2471995b46c82986b8e4b2a70d2f5ce8e05d7edb319e", 113859),
    "emnist-letters-test-images-idx3-ubyte.gz": ("50f0e93d75b99b463e9760b8345866f22587fa2c2fba472730a5ba09c693412d", 5039157),
    "emnist-letters-test-labels-idx1-ubyte.gz": ("924955c31fe7fd809b7303b5c0141282955f4b8390c74cdfd5d80435e0f4b4cb", 144),
    "emnist-letters-train-images-idx3-ubyte.gz": ("6288f418a917e007bf5fddb823a2dc7a5c6a35031401b93292a539cb12bd881f", 30804864),
    "emnist-letters-train-labels-idx1-ubyte.gz": ("9759af91ea6bccdf07a6040fd085861f2ec88e37f7c3f5760f6feb57106fbe5c", 79283),
    "emnist-mnist-test-images-idx3-ubyte.gz": ("b25640fa9e356c618132f5df347c95ef5bae6d9c2596be1de40f7e0ae1c3eac6", 2484884),
    "emnist-mnist-test-labels-idx1-ubyte.gz": ("bcc5385d38f083dba046f5f756e99b32f5ea7fad122c6243c71c2239873065ca", 5144),
    "emnist-mnist-train-images-idx3-ubyte.gz": ("5f9942f441031c0f1f2e4d162059fd6e19ea808b34c328b6d16cab0ed24c78f2", 14873795),
    "emnist-mnist-train-labels-idx1-ubyte.gz": ("00c6d3c2342fdffb1711e0b5656cac4ce5862d2826399d383a9bac07d612e9f8", 29480),
    "emnist-balanced-mapping.txt": ("956dc507bf69e9f31f4e3e876d22ec66124aa229b5d0bd65ab8956a8044d3ede", 328),
    "emnist-byclass-mapping.txt": ("68fa9091ed325830418b5a8d732f32316e54a480b9f8994a161abb4eddd0d078", 447),
    "emnist-bymerge-mapping.txt": ("956dc507bf69e9f31f4e3e876d22ec66124aa229b5d0bd65ab8956a8044d3ede", 328),
    "emnist-digits-mapping.txt": ("6d157dc46a7b1c80d630f4fed571d9964db37ee1669cac403b6db2c8bb109d94", 60),
    "emnist-letters-mapping.txt": ("a56cb9a31c08e3251a61ea7b1ec8bc4f4cabdc1edf3128508d3a485ad53fa456", 274),
    "emnist-mnist-mapping.txt": ("6d157dc46a7b1c80d630f4fed571d9964db37ee1669cac403b6db2c8bb109d94", 60),
}

PARTS = ("train-images", "train-labels", "test-images", "test-labels")


@dataclass(frozen=True)
class Split:
    name: str
    num_classes: int
    label_offset: int  # the file's smallest label; subtracted so training sees 0..C-1

    @property
    def label_range(self) -> tuple[int, int]:
        """Inclusive range of labels as stored in the official files."""
        return self.label_offset, self.label_offset + self.num_classes - 1

    def file_name(self, part: str) -> str:
        kind = "idx3" if part.endswith("images") else "idx1"
        return f"emnist-{self.name}-{part}-{kind}-ubyte.gz"

    @property
    def mapping_file(self) -> str:
        return f"emnist-{self.name}-mapping.txt"

    @property
    def files(self) -> list[str]:
        return [self.file_name(part) for part in PARTS] + [self.mapping_file]

    def characters(self, data_dir: str | Path) -> list[str]:
        """The character(s) each training class (0..C-1) stands for, read from the mapping file.

        Letters map to both cases ("A/a"); the other splits to one character.
        """
        path = Path(data_dir) / self.mapping_file
        try:
            rows = [row.split() for row in path.read_text().splitlines() if row.strip()]
            by_label = {int(row[0]): "/".join(chr(int(code)) for code in row[1:]) for row in rows}
        except FileNotFoundError:
            raise DataError(f"{path}: mapping file missing; run `tune data download --splits {self.name}`") from None
        except (ValueError, IndexError, UnicodeDecodeError, OverflowError):
            raise DataError(f"{path}: not an EMNIST mapping file (want lines 'label ascii_code')") from None
        except OSError as exc:
            raise DataError(f"{path}: cannot read the mapping file ({exc.strerror}); check its permissions") from None
        low, high = self.label_range
        if not by_label:
            raise DataError(f"{path}: empty mapping file; run `tune data download --splits {self.name}`")
        if sorted(by_label) != list(range(low, high + 1)):
            raise DataError(f"{path}: labels {min(by_label)}..{max(by_label)}, want {low}..{high}")
        return [by_label[label] for label in range(low, high + 1)]


SPLITS: dict[str, Split] = {
    split.name: split
    for split in (
        Split("byclass", 62, 0),
        Split("bymerge", 47, 0),
        Split("balanced", 47, 0),
        Split("letters", 26, 1),
        Split("digits", 10, 0),
        Split("mnist", 10, 0),
    )
}


def get_split(name: str) -> Split:
    try:
        return SPLITS[name]
    except KeyError:
        raise DataError(f"unknown split {name!r}; choose one of {', '.join(SPLITS)}") from None


def parse_split_list(text: str) -> list[Split]:
    """'all' or a comma list such as 'mnist,balanced' -> Splits, in the order given."""
    if text.strip() == "all":
        return list(SPLITS.values())
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise DataError("no split given; use e.g. --splits mnist,balanced or --splits all")
    return [get_split(name) for name in names]
