"""Find a data set: ``--data`` > recipe ``data.path`` > ``$SEQGEN_DATA`` > download cache > embedded subset."""
from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

from ..errors import DataError

log = logging.getLogger(__name__)

EMBEDDED = Path(__file__).parent / "embedded"
#: data sets whose embedded-subset warning this command has given (the CLI clears it per command)
WARNED_EMBEDDED: set[str] = set()
ENV_VAR = "SEQGEN_DATA"


def cache_dir() -> Path:
    """Where downloads go: ``$SEQGEN_CACHE`` or the OS cache folder (via pooch)."""
    import pooch

    return Path(os.environ.get("SEQGEN_CACHE") or pooch.os_cache("seqgen"))


def _candidates(folder: str, path: Path, aliases: tuple[str, ...] = ()) -> list[Path]:
    # A path may name the data set itself or a data root holding it (under its name or an alias).
    return [path / f for f in (folder, *aliases)] + [path] if folder else [path]


def locate(folder: str, looks_valid, *, data: str | None = None, recipe_path: str | None = None,
           recipe_dir: Path | None = None, allow_embedded: bool = True,
           aliases: tuple[str, ...] = ()) -> tuple[Path, str]:
    """Return ``(root, where)`` for data set ``folder`` (e.g. ``"fsdd"``), ``where`` saying how it was found.

    ``looks_valid(path) -> bool`` decides whether a folder holds the data set. Order:
    ``data`` (``--data``), ``recipe_path`` (relative to the recipe folder), ``$SEQGEN_DATA``,
    the download cache, the subset embedded in the package. Under a data root the data set's folder may
    also be named one of ``aliases`` (``mnist_t10k`` for ``mnist``).
    """
    tried: list[str] = []
    for where, raw in (("--data", data), ("recipe data.path", recipe_path), (f"${ENV_VAR}", os.environ.get(ENV_VAR))):
        if not raw:
            continue
        p = Path(os.path.expanduser(raw))
        if where == "recipe data.path" and not p.is_absolute() and recipe_dir is not None:
            p = recipe_dir / p
        for c in _candidates(folder, p, aliases):
            if looks_valid(c):
                return c, where
        if where == "--data":  # an explicit path that is wrong is an error, never silently skipped
            raise DataError(f"--data {raw}: no {folder or 'audio'} data found there (folder missing or empty)")
        tried.append(f"{where}={raw}")
    cached = cache_dir() / folder
    if folder and looks_valid(cached):
        return cached, "download cache"
    tried.append(f"cache {cached}")
    embedded = EMBEDDED / folder
    download = _download_name(folder)
    if allow_embedded and folder and looks_valid(embedded):
        if folder not in WARNED_EMBEDDED:  # once per command (eval --compare locates once per prior)
            WARNED_EMBEDDED.add(folder)
            warnings.warn(
                f"using the small {folder} subset embedded in seqgen (offline quickstart); for the full data set "
                f"run `seqgen download {download}` or pass --data / set ${ENV_VAR}",
                stacklevel=2,
            )
        return embedded, "embedded subset"
    raise DataError(
        f"cannot find the {folder or 'audio'} data (tried: {', '.join(tried) or 'nothing'}). Pass --data PATH, "
        f"set data.path in the recipe, set ${ENV_VAR} to a folder holding '{folder}/'"
        + (f", or run `seqgen download {download}`" if download else "")
    )


def _download_name(folder: str) -> str | None:
    from .download import SOURCES

    return next((name for name, src in SOURCES.items() if folder and src.folder == folder), None)
