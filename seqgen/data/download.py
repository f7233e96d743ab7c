"""Checksummed downloads of the recipes' data sets into the cache ``seqgen train`` looks in (via pooch).

Each source is a pinned commit of a public repository plus a registry file ``registry/<name>.txt`` of
``filename sha256:<hex>`` lines; a file whose checksum differs is rejected by pooch and never used.
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path


@dataclass(frozen=True)
class Source:
    folder: str          # the folder name looked for under $SEQGEN_DATA and the cache
    base_url: str        # files are fetched from base_url + filename
    subfolder: str = ""  # where inside ``folder`` the files go
    credit: str = ""


SOURCES = {
    "fsdd": Source(
        "fsdd",
        "https://raw.githubusercontent.com/Jakobovski/free-spoken-digit-dataset/"
        "26eb9aaf76e81b692f806f9140c2d2777410d7a1/recordings/",
        subfolder="recordings",
        credit="Free Spoken Digit Dataset (Z. Jackson et al.), CC BY-SA 4.0",
    ),
    # The Bach Violin Dataset (Dong et al., ICASSP 2022); John Garner's recording via Musopen, CC BY 3.0.
    # Upstream ships MP3; the violin recipe's file patterns match both these and the FLAC copies.
    "violin": Source(
        "violin_bach_bwv1002_garner",
        "https://raw.githubusercontent.com/salu133445/bach-violin-dataset/"
        "36d687439af24112722e9f0832dfe2157280883c/bach-violin/audio/john-garner/",
        credit="J. S. Bach, BWV 1002, played by John Garner (Musopen), CC BY 3.0, via the Bach Violin Dataset",
    ),
}


def registry(name: str) -> dict[str, str]:
    """``{filename: "sha256:<hex>"}`` for data set ``name``."""
    text = resources.files("seqgen.data").joinpath(f"registry/{name}.txt").read_text()
    return dict(line.split() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def download(name: str, dest: Path, progress: bool = True) -> Path:
    """Fetch every file of data set ``name`` into ``dest`` (checked against its sha256); return ``dest``."""
    import pooch
    from tqdm.auto import tqdm

    src = SOURCES[name]
    fetcher = pooch.create(path=Path(dest) / src.subfolder, base_url=src.base_url, registry=registry(name),
                           retry_if_failed=2)
    for fname in tqdm(sorted(fetcher.registry), desc=f"downloading {name}", unit="file", disable=not progress):
        fetcher.fetch(fname)
    return Path(dest)
