"""Components from a recipe: the one place a config is unpacked into library objects."""
from __future__ import annotations

from pathlib import Path

from ..codecs.base import Codec
from ..config import Config, check_options
from ..errors import ConfigError
from ..priors import PRIORS, Prior
from ..registry import AUTOENCODERS, DATASETS, OBJECTIVES, REPRESENTATIONS
from ..representation.base import Representation


def _component(registry, section: str, name: str, options: dict, skip: tuple[str, ...] = (), **given):
    """Resolve ``name`` in ``registry`` (registered names only: a recipe's dotted paths were registered when it
    was read, a run directory's config.json can name nothing else), check ``options`` against its
    constructor, build it."""
    try:
        cls = registry.resolve(name)
    except ValueError as e:
        raise ConfigError(f"{section}: {e}") from None
    opts = check_options(section, cls, options, skip=skip + tuple(given))
    try:
        return cls(**given, **opts)
    except (ValueError, TypeError) as e:  # a value out of range, or of the wrong type (a run's config.json)
        raise ConfigError(f"{section}: {e}") from None


def build_representation(cfg: Config) -> Representation:
    return _component(REPRESENTATIONS, "representation", cfg.representation.type, cfg.representation.options)


def build_prior(cfg: Config) -> Prior:
    return _component(PRIORS, "prior", cfg.prior.type, cfg.prior.options)


def build_autoencoder(cfg: Config, rep: Representation | None = None) -> Codec:
    """The recipe's codec, built with the representation's unit geometry; the objective's options are
    checked here too, so a bad ``[train]`` key fails before any work."""
    rep = rep or build_representation(cfg)
    model = _component(AUTOENCODERS, "autoencoder", cfg.autoencoder.type, cfg.autoencoder.options,
                       **rep.codec_options())
    try:
        model.check_representation(rep)
    except ValueError as e:
        raise ConfigError(f"autoencoder: {e}") from None
    build_objective(cfg, model, rep)
    return model


def build_objective(cfg: Config, codec: Codec, rep: Representation):
    """The training objective of ``[train]`` for ``codec`` (``hop``: the frames' hop for overlap-add losses)."""
    opts = dict(cfg.train.options)
    loss_options = opts.get("loss_options")
    if opts.get("loss", "mrstft") == "mrstft" and isinstance(loss_options, dict):
        from ..training.losses import MultiResolutionSTFTLoss

        check_options("train.loss_options", MultiResolutionSTFTLoss, loss_options)
    return _component(OBJECTIVES, "train", cfg.train.objective, opts, codec=codec, representation=rep)


def make_dataset(cfg: Config, data: str | None = None):
    """The configured dataset, rooted where :func:`~seqgen.data.locate.locate` finds it; ``(dataset, where)``."""
    from ..data.locate import locate

    try:
        cls = DATASETS.resolve(cfg.data.source)
    except ValueError as e:
        raise ConfigError(f"data.source: {e}") from None
    opts = check_options("data", cls, cfg.data.options, skip=("root",))
    if cls.generated:
        args, where = (), "generated from the recipe's [data] options"
    else:
        root, how = locate(cls.data_folder(opts), cls.looks_valid, data=data, recipe_path=cfg.data.path or None,
                           recipe_dir=Path(cfg.recipe_dir) if cfg.recipe_dir else None, aliases=cls.folder_aliases)
        args, where = (root,), f"{root} ({how})"
    try:
        return cls(*args, **opts), where
    except (ValueError, TypeError) as e:  # a value out of range, or of the wrong type (a run's config.json)
        raise ConfigError(f"data: {e}") from None
