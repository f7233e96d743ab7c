"""The recipes shipped with seqgen: found by bare name (``seqgen train spoken_digits``) and listed by ``seqgen recipes``."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def recipes_root() -> Path:
    """The folder holding the shipped recipes (package data ``seqgen.recipes``; ``recipes/`` of a checkout)."""
    from importlib.resources import files

    try:
        return Path(str(files("seqgen.recipes")))
    except ModuleNotFoundError:  # an install without package data: the source checkout's folder
        return Path(__file__).resolve().parents[1] / "recipes"


def names() -> list[str]:
    root = recipes_root()
    return sorted(p.parent.name for p in root.glob("*/config.toml")) if root.is_dir() else []


def find(name: str) -> Path | None:
    """The folder of shipped recipe ``name`` (a bare name: no path separator), or None."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        return None
    p = recipes_root() / name
    return p if (p / "config.toml").is_file() else None


@dataclass
class RecipeInfo:
    name: str
    description: str
    modality: str
    source: str
    data_found: str  # where the data would come from, or "no"


def describe(name: str) -> RecipeInfo:
    """A shipped recipe's one-line description (first comment line of config.toml), modality, data source,
    and whether its data is found here (by the same search ``seqgen train`` does)."""
    from .config import load_recipe
    from .pipeline.build import build_representation, make_dataset

    path = find(name)
    first = next((ln.lstrip("# ").strip() for ln in (path / "config.toml").read_text().splitlines()
                  if ln.startswith("#")), "")
    try:
        cfg = load_recipe(path)
        modality, source = build_representation(cfg).modality, cfg.data.source
    except Exception as e:  # a broken recipe is listed, not fatal
        return RecipeInfo(name, first, "?", f"error: {e}", "?")
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, where = make_dataset(cfg)
        found = where.rpartition("(")[2].rstrip(")") or "yes"
    except Exception:
        found = "no"
    return RecipeInfo(name, first, modality, source, found)
