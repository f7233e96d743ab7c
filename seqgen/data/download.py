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
    mirrors: tuple[str, ...] = ()  # further base URLs, tried in turn when one cannot be reached


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
    # LeCun's four gzip files from public mirrors (his own site often refuses): the CVDF copy TensorFlow
    # Datasets uses, then PyTorch's. The registry holds the published sha256 of the original files.
    "mnist": Source(
        "mnist",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        credit="MNIST (Y. LeCun, C. Cortes, C. Burges), CC BY-SA 3.0",
        mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",),
    ),
}


def registry(name: str) -> dict[str, str]:
    """``{filename: "sha256:<hex>"}`` for data set ``name``."""
    text = resources.files("seqgen.data").joinpath(f"registry/{name}.txt").read_text()
    return dict(line.split() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def download(name: str, dest: Path, progress: bool = True, base_urls: tuple[str, ...] | None = None) -> Path:
    """Fetch every file of data set ``name`` into ``dest`` (checked against its sha256); return ``dest``.

    ``base_urls`` (default: the source's URL and mirrors) are tried in turn for each file when one cannot be
    reached; a file with the wrong checksum is refused, never replaced by another copy."""
    import pooch
    from tqdm.auto import tqdm

    from ..errors import DataError

    src = SOURCES[name]
    reg = registry(name)
    import logging

    from ..progress import verbose_logging

    pooch.get_logger().setLevel(logging.INFO if verbose_logging() else logging.ERROR)  # its retry chatter: -v
    for fname in tqdm(sorted(reg), desc=f"downloading {name}", unit="file", disable=not progress):
        errors = []
        for base in base_urls or (src.base_url, *src.mirrors):
            fetcher = pooch.create(path=Path(dest) / src.subfolder, base_url=base, registry={fname: reg[fname]},
                                   retry_if_failed=2)
            try:
                fetcher.fetch(fname)
                break
            except ValueError:  # checksum mismatch: never fall through to another copy silently
                raise
            except Exception as e:  # network errors (requests / OSError): try the next mirror
                errors.append(_reason(base, e))
        else:
            raise DataError(f"network failure: cannot download the {name} data set's file "
                            f"{'/'.join(p for p in (src.subfolder, fname) if p)} ({'; '.join(errors)}); check the "
                            f"internet connection, or give seqgen train --data PATH a copy you have")
    return Path(dest)


def _reason(base: str, e: Exception) -> str:
    """``host: why`` in a few words (requests' messages nest three exceptions and the whole URL)."""
    import re
    from urllib.parse import urlparse

    text = str(e)
    errno = re.findall(r"\[Errno -?\d+\] [^'\")]+", text)
    status = re.search(r"\b([45]\d\d) (?:Client|Server) Error", text)
    why = errno[-1] if errno else (f"HTTP {status.group(1)}" if status else type(e).__name__)
    return f"{urlparse(base).netloc or base}: {why}"
