"""Typed recipe configuration: TOML -> dataclasses; unknown keys and wrong types are errors naming the key.

A recipe is ``recipes/<name>/config.toml`` with the tables ``[data] [representation] [autoencoder]
[train] [prior] [generate]``. ``include = "../base/config.toml"`` at the top deep-merges a base
recipe first (a variant overrides a few keys). Component tables (``[data]``, ``[representation]``,
``[autoencoder]``, ``[prior]``; ``[train]`` for its objective) name a registered class (``source`` /
``type`` / ``objective``) and pass their other keys to its constructor; those keys are checked against the constructor's
signature and default types. ``--set section.key=value`` overrides use TOML value syntax.
"""
from __future__ import annotations

import copy
import dataclasses
import inspect
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from .errors import ConfigError


@dataclass
class DataConfig:
    source: str = "fsdd"
    path: str = ""
    strict: bool = False  # an unreadable file is an error instead of a warning
    options: dict = field(default_factory=dict)  # dataset constructor kwargs (the table's other keys)


@dataclass
class ComponentConfig:
    type: str = ""
    options: dict = field(default_factory=dict)


@dataclass
class TrainConfig:
    objective: str = "reconstruct"  # registered training objective (seqgen.training)
    epochs: int = 16
    batch_size: int = 8
    segment_frames: int = 8  # consecutive units per training segment (1 for frame-free data)
    lr: float = 1e-3
    prior_per_label: bool = False  # also fit one prior per label (digit) on the shared autoencoder
    options: dict = field(default_factory=dict)  # objective kwargs (the table's other keys): loss, loss_options, ...


@dataclass
class GenerateConfig:
    seconds: float = 10.0
    count: int = 0
    temperature: float = 1.0
    decoder_noise: float = 1.0  # std scale of a stochastic decoder's noise (band split); 0 = none
    block_frames: int = 256


@dataclass
class Config:
    name: str = "run"
    seed: int = 0
    device: str = "cpu"
    data: DataConfig = field(default_factory=DataConfig)
    representation: ComponentConfig = field(default_factory=lambda: ComponentConfig("frames"))
    autoencoder: ComponentConfig = field(default_factory=lambda: ComponentConfig("conv"))
    train: TrainConfig = field(default_factory=TrainConfig)
    prior: ComponentConfig = field(default_factory=lambda: ComponentConfig("hmm"))
    generate: GenerateConfig = field(default_factory=GenerateConfig)
    recipe_dir: str = ""  # set by load_recipe, for data.path relative to the recipe

    def to_dict(self) -> dict:
        """The resolved config as nested plain data (component options flattened into their table)."""
        d = dataclasses.asdict(self)
        for sec in ("data", "representation", "autoencoder", "train", "prior"):
            opts = d[sec].pop("options")
            d[sec].update(opts)
        return d


_COMPONENT_KEY = {"data": "source", "representation": "type", "autoencoder": "type", "prior": "type"}
_SECTIONS = {"data": DataConfig, "train": TrainConfig, "generate": GenerateConfig}


def _check_type(key: str, value: Any, expected) -> Any:
    """Return ``value`` if it fits ``expected`` (a type, or a default value's type); else ConfigError."""
    if expected is None or expected is Any:
        return value
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected in (list, tuple) and isinstance(value, (list, tuple)):
        return list(value)
    if expected is bool and not isinstance(value, bool):
        raise ConfigError(f"{key}: expected true/false, got {value!r}")
    if expected is int and isinstance(value, bool):
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    if isinstance(expected, type) and not isinstance(value, expected):
        raise ConfigError(f"{key}: expected {expected.__name__}, got {type(value).__name__} {value!r}")
    return value


#: (low, high) of every numeric key, inclusive; a value outside (or NaN/Inf) is a ConfigError before any work
RANGES = {
    "seed": (0, 2**32 - 1),
    "representation.sample_rate": (1000, 384_000),
    "representation.peak": (1e-6, 1.0),
    "representation.pad_frames": (0, 100),
    "representation.frame_length": (16, 1 << 16),
    "representation.hop": (1, 1 << 16),
    "representation.height": (4, 4096),
    "representation.width": (4, 4096),
    "representation.channels": (1, 4),
    "train.epochs": (0, 100_000),
    "train.batch_size": (1, 1 << 16),
    "train.segment_frames": (1, 1 << 16),
    "train.lr": (1e-12, 10.0),
    "generate.seconds": (1e-3, 24 * 3600.0),
    "generate.count": (0, 100_000),
    "generate.temperature": (0.0, 100.0),
    "generate.decoder_noise": (0.0, 100.0),
    "generate.block_frames": (1, 16_384),
    "train.importance_samples": (1, 1 << 20),
    "train.entropy_weight": (0.0, 100.0),
}
CHOICES = {"representation.normalize": ("peak", "none"), "train.loss": ("mrstft", "mse", "bce"),
           "train.amp": ("bf16", "fp16")}


def check_range(key: str, value, option: str | None = None):
    """``value`` if it is a finite number within ``RANGES[key]``; else ConfigError naming ``option`` (or ``key``)."""
    import math

    lo, hi = RANGES[key]
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise ConfigError(f"{option or key}: expected a number, got {type(value).__name__} {value!r}")
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and lo <= value <= hi
    if not ok:
        raise ConfigError(f"{option or key} must be a number in [{lo:g}, {hi:g}], got {value!r}")
    return value


def validate(cfg: Config) -> Config:
    """Range and choice checks of every value (types are checked while reading); returns ``cfg``."""
    from .paths import PathError, check_name

    try:
        check_name("config name", cfg.name)
    except PathError as e:
        raise ConfigError(str(e)) from None
    d = cfg.to_dict()
    for key in RANGES:  # component keys a recipe leaves out take the class's (valid) default
        sec, _, k = key.rpartition(".")
        table = d[sec] if sec else d
        if k in table:
            check_range(key, table[k])
    for key, choices in CHOICES.items():
        sec, _, k = key.partition(".")
        if k in d[sec] and d[sec][k] not in choices:
            raise ConfigError(f"{key} must be one of {', '.join(map(repr, choices))}, got {d[sec][k]!r}")
    rep = d["representation"]
    if rep.get("hop", 0) > rep.get("frame_length", 1 << 16):
        raise ConfigError(f"representation.hop ({rep['hop']}) must not exceed representation.frame_length "
                          f"({rep['frame_length']})")
    return cfg


def from_dict(raw: dict) -> Config:
    """Build a :class:`Config` from nested plain data; unknown keys, wrong types and values out of
    range raise ConfigError."""
    if not isinstance(raw, dict):
        raise ConfigError(f"a config must be a table of keys, got {type(raw).__name__}")
    raw = copy.deepcopy(raw)
    raw.pop("include", None)
    cfg = Config()
    hints = get_type_hints(Config)
    for key, value in raw.items():
        if key in _SECTIONS or key in _COMPONENT_KEY:
            if not isinstance(value, dict):
                raise ConfigError(f"{key}: expected a table [{key}], got {value!r}")
            setattr(cfg, key, _section(key, value))
        elif key in ("name", "seed", "device", "recipe_dir"):
            setattr(cfg, key, _check_type(key, value, hints[key]))
        else:
            raise ConfigError(f"unknown config key {key!r}; known: {', '.join(sorted(hints))}")
    return validate(cfg)


def _section(name: str, table: dict):
    cls = _SECTIONS.get(name)
    if cls is None:  # autoencoder / prior: type + free options checked later against the class
        comp_key = _COMPONENT_KEY[name]
        table = dict(table)
        return ComponentConfig(type=_check_type(f"{name}.{comp_key}", table.pop(comp_key, ""), str) or
                               getattr(Config(), name).type, options=table)
    hints = get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)} - {"options"}
    kwargs, options = {}, {}
    for k, v in table.items():
        if k in known:
            kwargs[k] = _check_type(f"{name}.{k}", v, hints[k])
        elif "options" in hints:
            options[k] = v
        else:
            raise ConfigError(f"unknown config key '{name}.{k}'; known: {', '.join(sorted(known))}")
    if "options" in hints:
        kwargs["options"] = options
    return cls(**kwargs)


def check_options(section: str, cls, options: dict, skip: tuple[str, ...] = ()) -> dict:
    """Check component ``options`` against ``cls.__init__``: unknown keys and wrong types name the key."""
    params: dict = {}
    for klass in cls.__mro__:  # a subclass taking **kwargs passes them on to its base: check those too
        own = inspect.signature(klass.__init__).parameters
        params.update({k: p for k, p in own.items() if k not in params and k != "self" and k not in skip
                       and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)})
        if not any(p.kind is p.VAR_KEYWORD for p in own.values()):
            break
        if klass is object:
            return options
    out = {}
    for k, v in options.items():
        if k not in params:
            raise ConfigError(
                f"unknown config key '{section}.{k}' for {cls.__name__}; known: {', '.join(sorted(params))}"
            )
        default = params[k].default
        expected = None if default is inspect.Parameter.empty or default is None else type(default)
        out[k] = _check_type(f"{section}.{k}", v, expected)
    return out


def _deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def read_toml(path: Path, _seen: tuple = ()) -> dict:
    """Read a recipe TOML, resolving ``include`` chains (relative to the including file)."""
    path = path.resolve()
    if path in _seen:
        raise ConfigError(f"include cycle: {' -> '.join(map(str, _seen + (path,)))}")
    from .paths import PathError, open_regular

    try:
        with open_regular(path, "rb") as f:
            raw = tomllib.loads(f.read().decode())
    except PathError as e:
        raise ConfigError(str(e)) from None
    except FileNotFoundError:
        raise ConfigError(f"recipe file not found: {path}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"syntax error in {path}: {e}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not a text (TOML) file") from None
    inc = raw.get("include")
    if inc is not None and not isinstance(inc, str):
        raise ConfigError(f"{path}: include must be a file name (a string), got {inc!r}")
    if inc:
        base = read_toml(path.parent / inc, _seen + (path,))
        for sec, key in _COMPONENT_KEY.items():  # a recipe that switches a component drops its options,
            over = raw.get(sec)                    # as `--set prior.type=...` does
            if isinstance(over, dict) and key in over and isinstance(base.get(sec), dict) \
                    and base[sec].get(key, over[key]) != over[key]:
                base[sec] = {}
        raw = _deep_merge(base, raw)
    return raw


def parse_override(item: str) -> tuple[list[str], Any]:
    """``"prior.n_states=50"`` -> ``(["prior", "n_states"], 50)``; values use TOML syntax, bare words are strings."""
    key, sep, value = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set expects key=value, got {item!r}")
    try:
        parsed = tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value.strip()
    return key.split("."), parsed


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """Apply ``--set`` items. Switching a component (``prior.type=gmm`` where the recipe says hmm)
    drops the recipe's options for the old component; later ``prior.*`` items then apply."""
    raw = copy.deepcopy(raw)
    for item in overrides:
        path, value = parse_override(item)
        if len(path) == 2 and _COMPONENT_KEY.get(path[0]) == path[1] and isinstance(raw.get(path[0]), dict):
            if raw[path[0]].get(path[1], value) != value:
                raw[path[0]] = {}
        node = raw
        for p in path[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {item}: {'.'.join(path[:-1])} is not a table")
        node[path[-1]] = value
    return raw


def recipe_file(recipe: str | Path) -> Path:
    """A recipe folder (holding config.toml), a TOML file, or the bare name of a shipped recipe
    (``spoken_digits``; a folder of that name here wins)."""
    p = Path(recipe)
    if not p.exists():
        from .recipes_index import find

        p = find(str(recipe)) or p
    if p.is_dir():
        p = p / "config.toml"
    if not p.is_file():
        from .recipes_index import names

        raise ConfigError(f"no recipe at {recipe}: expected a folder with config.toml, a .toml file or a shipped "
                          f"recipe ({', '.join(names())}; see seqgen recipes)")
    return p


def load_recipe(recipe: str | Path, overrides: list[str] = ()) -> Config:
    """Load a recipe folder/file, apply ``--set`` overrides, return a checked :class:`Config`."""
    path = recipe_file(recipe)
    raw = apply_overrides(read_toml(path), list(overrides))
    cfg = from_dict(raw)
    cfg.recipe_dir = str(path.parent.resolve())
    trust_components(cfg)
    check_objective(cfg)
    return cfg


def trust_components(cfg: Config) -> None:
    """Register the dotted-path components (``"mypkg.priors:MyPrior"``) a recipe names: the recipe is the
    user's own input, so its imports are allowed; a run directory's config.json never gets here."""
    from .registry import AUTOENCODERS, DATASETS, OBJECTIVES, PRIORS, REPRESENTATIONS, RegistryError

    for key, reg, name in (("data.source", DATASETS, cfg.data.source), ("prior.type", PRIORS, cfg.prior.type),
                           ("autoencoder.type", AUTOENCODERS, cfg.autoencoder.type),
                           ("representation.type", REPRESENTATIONS, cfg.representation.type),
                           ("train.objective", OBJECTIVES, cfg.train.objective)):
        if ":" in name or "." in name:
            try:
                reg.resolve_trusted(name)
            except RegistryError as e:
                raise ConfigError(f"{key}: {e}") from None


def check_objective(cfg: Config) -> None:
    """``[train]``'s keys beyond the loop's own go to the training objective: check them now, by name."""
    from .registry import OBJECTIVES

    try:
        cls = OBJECTIVES.resolve(cfg.train.objective)
    except ValueError as e:
        raise ConfigError(f"train.objective: {e}") from None
    check_options("train", cls, cfg.train.options, skip=("codec", "representation"))
