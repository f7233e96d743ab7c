"""A self-describing run directory: resolved config, weights, latents, priors, metrics, samples, plots."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..artefacts import ArtefactError, read_json, write_json
from ..config import Config, from_dict
from ..errors import ConfigError
from ..paths import PathError, check_name


def config_hash(cfg: Config, *sections: str, ignore: tuple[str, ...] = ()) -> str:
    """Hash of the config parts a stage depends on (a changed part makes the stage re-run);
    ``ignore`` lists ``section.key`` entries of those parts that do not affect the stage."""
    d = cfg.to_dict()
    part = {s: d[s] for s in sections}
    for key in ignore:
        sec, _, k = key.partition(".")
        if isinstance(part.get(sec), dict):
            part[sec] = {kk: v for kk, v in part[sec].items() if kk != k}
    return hashlib.sha256(json.dumps(part, sort_keys=True).encode()).hexdigest()[:16]


class RunDir:
    """Paths and bookkeeping of one run folder (``runs/<recipe name>`` by default)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    # artefact paths
    config = property(lambda self: self.path / "config.json")
    autoencoder = property(lambda self: self.path / "autoencoder.pt")
    checkpoint = property(lambda self: self.path / "checkpoint.pt")
    latents = property(lambda self: self.path / "latents.npz")
    prior = property(lambda self: self.path / "prior")  # + .json / .npz
    metrics = property(lambda self: self.path / "metrics.json")
    log = property(lambda self: self.path / "train.log")
    plots = property(lambda self: self.path / "plots")
    samples = property(lambda self: self.path / "samples")

    def extra_prior(self, label: str) -> Path:
        if label == "default":
            raise PathError("prior label 'default' is the run's own prior; choose another --label")
        return self.path / "priors" / check_name("prior label", label)

    def prior_path(self, label: str | None) -> Path:
        """The recipe's prior (``label`` None or "default") or one added by ``seqgen fit-prior``."""
        if label in (None, "", "default"):
            return self.prior
        p = self.extra_prior(label)
        if not p.with_suffix(".json").exists():
            have = sorted(q.stem for q in (self.path / "priors").glob("*.json"))
            hint = " (train with --set train.prior_per_label=true for --label)" if label.startswith("label_") else ""
            raise ArtefactError(f"no prior {label!r} in {self.path}; fitted: default{''.join(', ' + h for h in have)}"
                                f"{hint}")
        return p

    def load_config(self) -> Config:
        if not self.path.is_dir():
            raise ArtefactError(f"{self.path} is not a run directory (no such folder); train one with `seqgen train`")
        try:
            return from_dict(read_json(self.config))
        except ConfigError as e:
            raise ArtefactError(f"{self.config}: {e}") from None

    def save_config(self, cfg: Config) -> None:
        write_json(self.config, cfg.to_dict())

    def read_metrics(self) -> dict:
        return read_json(self.metrics) if self.metrics.exists() else {}

    def update_metrics(self, **parts) -> dict:
        """Merge top-level ``parts`` into metrics.json (atomically)."""
        m = self.read_metrics()
        for k, v in parts.items():
            if isinstance(v, dict) and isinstance(m.get(k), dict):
                m[k].update(v)
            else:
                m[k] = v
        write_json(self.metrics, m)
        return m

    def stage_hash(self, artefact: Path) -> str | None:
        """The config hash recorded beside an artefact (None if absent/unreadable)."""
        meta = artefact.with_suffix(".json")
        try:
            return read_json(meta).get("config", {}).get("_stage_hash") if meta.exists() else None
        except ArtefactError:
            return None
