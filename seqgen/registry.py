"""Name -> class registries, so a recipe names its components instead of importing them.

Two ways in, with different trust:

- ``resolve(name)`` (artefacts, run directories: untrusted) finds only what is registered: the
  built-ins, ``seqgen.<kind>`` entry points of installed packages, and classes registered in this
  process (``register`` or ``resolve_trusted``). It never imports a module a file names.
- ``resolve_trusted(name)`` (a recipe, the command line, Python code: the user's own words) may
  import a dotted path ``"mypkg.priors:MyPrior"``; the class is then registered for this process,
  so a run directory made with it loads again in the same process.

Either way the result must be a subclass of the registry's base class before anyone calls it.
"""
from __future__ import annotations

import importlib
import re
from typing import Callable, Generic, TypeVar

from .errors import SeqgenError

T = TypeVar("T")

#: a registered name or dotted path: identifiers joined by "." with at most one ":"
_IDENTS = r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*"
_DOTTED = re.compile(rf"{_IDENTS}(:{_IDENTS})?")


class RegistryError(SeqgenError, ValueError):
    """A name that does not resolve to a registered class of the right kind."""


def _import(target: str):
    module, sep, attr = target.partition(":") if ":" in target else target.rpartition(".")
    obj = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def dotted_name(obj) -> str:
    """``"module:QualName"`` of a class."""
    return f"{obj.__module__}:{obj.__qualname__}"


class Registry(Generic[T]):
    """A mapping from short names to classes of one kind (subclasses of ``base``)."""

    def __init__(self, what: str, base: str, group: str):
        """``base``: ``"module:Class"`` every entry must subclass (imported on first check);
        ``group``: the entry-point group third-party packages register in."""
        self.what = what
        self.group = group
        self._base_target = base
        self._items: dict[str, T] = {}
        self._lazy: dict[str, str] = {}

    @property
    def base(self) -> type:
        return _import(self._base_target)

    def register(self, name: str) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            if name in self._items and self._items[name] is not obj:
                raise ValueError(f"{self.what} {name!r} is already registered")
            self._items[name] = obj
            return obj

        return deco

    def register_lazy(self, name: str, target: str) -> None:
        """Register ``name`` -> ``"module:attr"``, imported on first use (keeps start-up cheap)."""
        self._lazy[name] = target

    def names(self) -> list[str]:
        return sorted(set(self._items) | set(self._lazy) | set(self._entry_points()))

    def __contains__(self, name: str) -> bool:
        return name in self._items or name in self._lazy or name in self._entry_points()

    def _entry_points(self) -> dict:
        from importlib.metadata import entry_points

        return {ep.name: ep for ep in entry_points(group=self.group)}

    def _checked(self, name: str, obj) -> T:
        base = self.base
        if not (isinstance(obj, type) and issubclass(obj, base)):
            raise RegistryError(f"{self.what} {name!r} is not a {base.__name__} subclass")
        return obj

    def resolve(self, name: str) -> T:
        """A registered ``name`` (or the dotted path of a registered class); imports nothing a caller names."""
        if not isinstance(name, str):
            raise RegistryError(f"{self.what} type must be a string, got {type(name).__name__}")
        if name in self._items:
            return self._checked(name, self._items[name])
        if name in self._lazy:
            obj = self._checked(name, _import(self._lazy[name]))
            self._items.setdefault(name, obj)
            return obj
        eps = self._entry_points()
        if name in eps:  # installed by the user's package manager: trusted
            obj = self._checked(name, eps[name].load())
            self._items.setdefault(name, obj)
            return obj
        for short, target in self._lazy.items():  # a saved dotted path of a built-in
            if name in (target, target.replace(":", ".")):
                return self.resolve(short)
        for obj in list(self._items.values()):  # a saved dotted path of a registered class
            if name in (dotted_name(obj), f"{obj.__module__}.{obj.__qualname__}"):
                return self._checked(name, obj)
        raise RegistryError(
            f"unknown {self.what} {name!r}; registered: {', '.join(self.names())} (a third-party class must be "
            f"registered, installed as a {self.group!r} entry point, or named in the recipe / on the command line)"
        )

    def resolve_trusted(self, name: str) -> T:
        """Like :meth:`resolve`, but a dotted path ``"pkg.mod:Class"`` (the user's own input) is imported
        and registered for this process."""
        try:
            return self.resolve(name)
        except RegistryError:
            if not isinstance(name, str) or not (":" in name or "." in name) or not _DOTTED.fullmatch(name):
                raise
        try:
            obj = _import(name)
        except (ImportError, AttributeError) as e:
            raise RegistryError(f"cannot import {self.what} {name!r}: {e}") from None
        obj = self._checked(name, obj)
        self._items.setdefault(name, obj)
        return obj

    def name_of(self, obj) -> str:
        """The name to save ``obj``'s class under: its registered short name, else its dotted path."""
        for name in sorted(self._items):
            if self._items[name] is obj and ":" not in name and "." not in name:
                return name
        for name, target in self._lazy.items():
            if target == dotted_name(obj):
                return name
        return dotted_name(obj)


PRIORS: Registry = Registry("prior", "seqgen.priors.base:Prior", "seqgen.priors")
DATASETS: Registry = Registry("dataset", "seqgen.data.base:Dataset", "seqgen.datasets")
AUTOENCODERS: Registry = Registry("autoencoder", "seqgen.codecs.base:Codec", "seqgen.autoencoders")
REPRESENTATIONS: Registry = Registry("representation", "seqgen.representation.base:Representation",
                                     "seqgen.representations")
OBJECTIVES: Registry = Registry("training objective", "seqgen.training.objective:Objective", "seqgen.objectives")

# Built-ins, imported on first use (keeps `seqgen --help` free of torch and pomegranate).
for _reg, _items in (
    (PRIORS, {"gaussian": "seqgen.priors.gaussian:GaussianPrior", "gmm": "seqgen.priors.gmm:GMMPrior",
              "hmm": "seqgen.priors.hmm:HMMPrior", "ar": "seqgen.priors.ar:ARPrior",
              "lde": "seqgen.priors.lde:LDEPrior", "masked_gaussian": "seqgen.priors.gaussian:MaskedGaussianPrior",
              "arhmm": "seqgen.priors.arhmm:ARHMMPrior"}),
    (DATASETS, {"fsdd": "seqgen.data.fsdd:FSDD", "audio_folder": "seqgen.data.folder:AudioFolder",
                "mnist": "seqgen.data.image.mnist:MNIST", "image_folder": "seqgen.data.image.folder:ImageFolder",
                "grid_2d": "seqgen.data.toy:Grid2D", "mixture_2d": "seqgen.data.toy:Mixture2D",
                "random_manifold": "seqgen.data.synthetic_manifold:RandomManifold"}),
    (AUTOENCODERS, {"conv": "seqgen.codecs.audio.conv1d:ConvAutoencoder", "vae": "seqgen.codecs.audio.vae:ConvVAE",
                    "perceptron": "seqgen.codecs.image.perceptron:InvertiblePerceptron",
                    "mlp_vae": "seqgen.codecs.image.mlp_vae:MLPVAE", "mlp": "seqgen.codecs.image.mlp:MLPAutoencoder",
                    "conv2d": "seqgen.codecs.image.conv2d:ConvAutoencoder2d",
                    "masked_mlp": "seqgen.codecs.masked_mlp:MaskedMLPAutoencoder", "led": "seqgen.codecs.led:LEDGenerator"}),
    (REPRESENTATIONS, {"frames": "seqgen.representation.frames:Frames", "image": "seqgen.representation.image:ImageUnit",
                       "vector": "seqgen.representation.vector:VectorUnit"}),
    (OBJECTIVES, {"reconstruct": "seqgen.training.reconstruct:Reconstruction",
                  "lmgae": "seqgen.training.lmgae:LMGAE", "led": "seqgen.training.led:LED"}),
):
    for _name, _target in _items.items():
        _reg.register_lazy(_name, _target)
