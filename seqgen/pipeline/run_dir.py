"""A self-describing run directory: resolved config, weights, latents, priors, metrics, samples, plots."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

from ..artefacts import ArtefactError, read_json_object, write_json
from ..config import Config, from_dict
from ..errors import ConfigError
from ..paths import PathError, check_name, open_regular


def fingerprint(path: Path) -> str:
    """Content hash of a file (what a later stage was made from)."""
    h = hashlib.sha256()
    with open_regular(path) as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


#: the stage to rerun when an artefact no longer matches what it was made from
RERUN = {"latents.npz": "seqgen train {run} (it re-encodes the latents)",
         "prior": "seqgen train {run}, or seqgen fit-prior {run} --force for an added prior"}


def config_hash(cfg: Config, *sections: str, ignore: tuple[str, ...] = (), extra: dict | None = None) -> str:
    """Hash of the config parts a stage depends on (a changed part makes the stage re-run);
    ``ignore`` lists ``section.key`` entries of those parts that do not affect the stage, ``extra``
    adds what else it was made from (the data's fingerprint)."""
    d = cfg.to_dict()
    part = {s: d[s] for s in sections}
    part.update(extra or {})
    for key in ignore:
        sec, _, k = key.partition(".")
        if isinstance(part.get(sec), dict):
            part[sec] = {kk: v for kk, v in part[sec].items() if kk != k}
    return hashlib.sha256(json.dumps(part, sort_keys=True).encode()).hexdigest()[:16]


class RunDir:
    """Paths and bookkeeping of one run folder (``runs/<recipe name>`` by default)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def _own(self, name: str, *siblings: str) -> Path:
        """``RUN/name``, refusing it (and its ``siblings`` suffixes) if a symlink leads out of the run directory."""
        p = self.path / name
        for q in [p, *(p.with_suffix(s) for s in siblings)]:
            if q.is_symlink() and not Path(os.path.realpath(q)).is_relative_to(Path(os.path.realpath(self.path))):
                raise PathError(f"{q} is a symbolic link out of the run directory; refusing to follow it")
        return p

    # artefact paths
    config = property(lambda self: self._own("config.json"))
    autoencoder = property(lambda self: self._own("autoencoder.pt", ".json"))
    checkpoint = property(lambda self: self._own("checkpoint.pt", ".json"))
    latents = property(lambda self: self._own("latents.npz", ".json"))
    prior = property(lambda self: self._own("prior", ".json", ".npz"))
    metrics = property(lambda self: self._own("metrics.json"))
    data = property(lambda self: self._own("data.json"))  # where the data came from + its fingerprint
    log = property(lambda self: self.path / "train.log")
    plots = property(lambda self: self.path / "plots")
    samples = property(lambda self: self.path / "samples")

    def extra_prior(self, label: str) -> Path:
        if label == "default":
            raise PathError("prior label 'default' is the run's own prior; choose another --label")
        return self._own(f"priors/{check_name('prior label', label)}", ".json", ".npz")

    def prior_path(self, label: str | None) -> Path:
        """The recipe's prior (``label`` None or "default") or one added by ``seqgen fit-prior``."""
        if label in (None, "", "default"):
            return self.prior
        p = self.extra_prior(label)
        if not p.with_suffix(".json").exists():
            have = sorted(q.stem for q in (self.path / "priors").glob("*.json"))
            hint = (" (train with --set train.prior_per_label=true, or seqgen fit-prior --per-label, for --digit)"
                    if "label_" in label else "")
            raise ArtefactError(f"no prior {label!r} in {self.path}; fitted: default{''.join(', ' + h for h in have)}"
                                f"{hint}")
        return p

    def load_config(self) -> Config:
        if not self.path.is_dir():
            raise ArtefactError(f"{self.path} is not a run directory (no such folder); train one with `seqgen train`")
        try:
            return from_dict(read_json_object(self.config))
        except ConfigError as e:
            raise ArtefactError(f"{self.config}: {e}") from None

    def save_config(self, cfg: Config) -> None:
        write_json(self.config, cfg.to_dict())

    def save_data(self, provenance: dict) -> None:
        write_json(self.data, provenance)

    def data_root(self, data: str | None = None) -> str:
        """The data folder later commands use: ``data`` (``--data``) if given, else the one the run was
        trained on; a folder that is gone is a one-line error, never a silent fallback to other data."""
        if data:
            return data
        if not self.data.exists():
            raise ArtefactError(f"{self.path} does not record where its data came from (no data.json); pass --data")
        root = read_json_object(self.data).get("root")
        if not isinstance(root, str) or not Path(root).is_dir():
            raise ArtefactError(f"the data this run was trained on ({root}) is gone; pass --data PATH")
        return root

    def record_eval(self, result: dict) -> None:
        """Add one `seqgen eval` result to ``eval.json`` (one entry per prior label)."""
        path = self.path / "eval.json"
        everything = read_json_object(path) if path.exists() else {}
        everything[result["prior"]] = result
        write_json(path, everything)

    def read_metrics(self) -> dict:
        return read_json_object(self.metrics) if self.metrics.exists() else {}

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
            cfg = read_json_object(meta).get("config", {}) if meta.exists() else {}
        except ArtefactError:
            return None
        h = cfg.get("_stage_hash") if isinstance(cfg, dict) else None
        return h if isinstance(h, str) else None

    # ------------------------------------------------------------------ provenance and locking
    def record_sources(self, artefact: Path, *sources: Path) -> None:
        """Write into ``artefact``'s JSON the content hashes of the files it was made from."""
        meta_path = artefact.with_suffix(".json")
        meta = read_json_object(meta_path) if meta_path.exists() else {}
        meta["_made_from"] = {s.name: fingerprint(s) for s in sources}
        write_json(meta_path, meta)

    def sources_match(self, artefact: Path, source: Path) -> bool:
        """False if ``artefact`` records a hash of ``source`` that is not the current one."""
        meta_path = artefact.with_suffix(".json")
        try:
            made_from = read_json_object(meta_path).get("_made_from", {}) if meta_path.exists() else {}
        except ArtefactError:
            return False
        return not isinstance(made_from, dict) or made_from.get(source.name, fingerprint(source)) == fingerprint(source)

    def check_sources(self, prior: Path) -> None:
        """Refuse a mix of stages: the latents must come from this autoencoder.pt and ``prior`` from these
        latents (an interrupted retrain leaves a new autoencoder beside an old prior). Runs written before
        hashes were recorded pass."""
        pairs = ((self.latents, self.autoencoder, "latents.npz"), (prior, self.latents, "prior"))
        for artefact, source, stage in pairs:
            made_from = read_json_object(artefact.with_suffix(".json")).get("_made_from", {})
            if not isinstance(made_from, dict) or source.name not in made_from:
                continue
            if made_from[source.name] != fingerprint(source):
                raise ArtefactError(f"{artefact.with_suffix('.json')} was made from another {source.name} than the one "
                                    f"in {self.path} (an interrupted or concurrent run?); "
                                    f"rerun {RERUN[stage].format(run=self.path)}")

    @contextlib.contextmanager
    def lock(self, create: bool = False):
        """Hold an exclusive lock on the run directory (``RUN/.lock``) while a command writes to it;
        a second writer gets one clear error instead of interleaving with the first. ``create``: make
        the folder if missing (``train``); otherwise it must be a run directory already."""
        import fcntl

        if create:
            self.path.mkdir(parents=True, exist_ok=True)
        elif not self.path.is_dir():
            raise ArtefactError(f"{self.path} is not a run directory (no such folder); train one with `seqgen train`")
        fd = os.open(self.path / ".lock", os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                other = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                raise PathError(f"{self.path} is in use by another seqgen command (pid {other}); "
                                f"wait for it or use another run directory") from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            yield self
        finally:
            os.close(fd)


#: what a run directory holds before any stage has produced something
_BOOKKEEPING = {"config.json", "train.log", "metrics.json", ".lock"}


def remove_if_unused(run: RunDir) -> None:
    """Delete a run directory a failed command just created, if it holds nothing but bookkeeping."""
    import shutil

    if run.path.is_dir() and not run.path.is_symlink() and all(
            p.name in _BOOKKEEPING and p.is_file() for p in run.path.iterdir()):
        shutil.rmtree(run.path, ignore_errors=True)
