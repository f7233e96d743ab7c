"""Name -> class registries, so a recipe names its components instead of importing them."""
from __future__ import annotations

import importlib
import sys
from typing import Callable, Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """A mapping from short names to classes (or factories).

    ``resolve(name)`` accepts a registered short name (``"hmm"``) or a dotted path to any
    importable object (``"mypkg.priors:MyPrior"`` or ``"mypkg.priors.MyPrior"``), so
    third-party components plug in without touching seqgen.
    """

    def __init__(self, what: str):
        self.what = what
        self._items: dict[str, T] = {}
        self._lazy: dict[str, str] = {}

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
        return sorted(set(self._items) | set(self._lazy))

    def __contains__(self, name: str) -> bool:
        return name in self._items or name in self._lazy

    def resolve(self, name: str, allow_import: bool = True) -> T:
        """Look ``name`` up; a dotted path is imported only if ``allow_import`` (else it must
        already be imported: loading an untrusted file must not import arbitrary modules)."""
        if name in self._items:
            return self._items[name]
        if name in self._lazy:
            module, _, attr = self._lazy[name].partition(":")
            obj = getattr(importlib.import_module(module), attr)
            self._items.setdefault(name, obj)
            return obj
        if ":" in name or "." in name:
            module = name.partition(":")[0] if ":" in name else name.rpartition(".")[0]
            if not allow_import and module not in sys.modules:
                raise ValueError(
                    f"{self.what} {name!r} comes from module {module!r}, which is not imported; "
                    f"import it (or register the class) before loading"
                )
            module, _, attr = name.partition(":") if ":" in name else name.rpartition(".")
            try:
                return getattr(importlib.import_module(module), attr)
            except (ImportError, AttributeError) as e:
                raise ValueError(f"cannot import {self.what} {name!r}: {e}") from None
        raise ValueError(
            f"unknown {self.what} {name!r}; registered: {', '.join(self.names())} "
            f"(or give a dotted path 'package.module:Class')"
        )


PRIORS: Registry = Registry("prior")
DATASETS: Registry = Registry("dataset")
AUTOENCODERS: Registry = Registry("autoencoder")
REPRESENTATIONS: Registry = Registry("representation")
OBJECTIVES: Registry = Registry("training objective")

# Built-ins, imported on first use (keeps `seqgen --help` free of torch and pomegranate).
for _reg, _items in (
    (PRIORS, {"gaussian": "seqgen.priors.gaussian:GaussianPrior", "gmm": "seqgen.priors.gmm:GMMPrior",
              "hmm": "seqgen.priors.hmm:HMMPrior", "ar": "seqgen.priors.ar:ARPrior",
              "lde": "seqgen.priors.lde:LDEPrior"}),
    (DATASETS, {"fsdd": "seqgen.data.fsdd:FSDD", "audio_folder": "seqgen.data.folder:AudioFolder",
                "mnist": "seqgen.data.image.mnist:MNIST", "image_folder": "seqgen.data.image.folder:ImageFolder"}),
    (AUTOENCODERS, {"conv": "seqgen.codecs.audio.conv1d:ConvAutoencoder", "vae": "seqgen.codecs.audio.vae:ConvVAE",
                    "perceptron": "seqgen.codecs.image.perceptron:InvertiblePerceptron",
                    "mlp_vae": "seqgen.codecs.image.mlp_vae:MLPVAE",
                    "conv2d": "seqgen.codecs.image.conv2d:ConvAutoencoder2d"}),
    (REPRESENTATIONS, {"frames": "seqgen.representation.frames:Frames", "image": "seqgen.representation.image:ImageUnit"}),
    (OBJECTIVES, {"reconstruct": "seqgen.training.reconstruct:Reconstruction"}),
):
    for _name, _target in _items.items():
        _reg.register_lazy(_name, _target)
