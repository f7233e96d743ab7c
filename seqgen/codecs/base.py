"""The codec (autoencoder) contract every modality shares: units <-> latent vectors.

A *unit* is what the representation cuts an example into (an audio frame ``[N]``, a whole image
``[C, H, W]``); a codec maps a batch of units ``[B, *unit_shape]`` to latents ``[B, D]`` and back
(paper §3.2: the first stage). What a pipeline needs to know about a codec is declared here as
class attributes and methods, so no caller probes a model with ``getattr`` (the encodec
``EncodecModel`` / DAC ``CodecMixin`` pattern).
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
import torch
from torch import nn


class Codec(nn.Module, ABC):
    """Base class of every autoencoder. Subclasses set ``latent_dim`` and ``unit_shape`` in their
    constructor and implement :meth:`encode`, :meth:`decode` and :meth:`get_config`
    (``type(m)(**m.get_config())`` rebuilds the architecture)."""

    #: latents are meant to be N(0, I) already (a VAE): the pipeline fits priors on them unstandardised
    standard_normal_latents: bool = False
    #: :meth:`decode_sample` draws randomness :meth:`decode` does not (e.g. a band-split decoder's noise)
    stochastic_decoder: bool = False
    #: :meth:`log_volume` is implemented: the codec gives an exact density of its outputs (an invertible map)
    exact_likelihood: bool = False
    #: :meth:`encode` exists; False for a pure generator (LED): no latents stage, no reconstructions, and
    #: :meth:`log_density` scores units instead
    has_encoder: bool = True

    latent_dim: int
    unit_shape: tuple[int, ...]

    # ------------------------------------------------------------------ the contract
    @abstractmethod
    def encode(self, units: torch.Tensor) -> torch.Tensor:
        """``units [B, *unit_shape]`` -> latents ``z [B, D]``."""

    @abstractmethod
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latents ``z [B, D]`` -> units ``[B, *unit_shape]`` (the deterministic part of the decoder)."""

    @abstractmethod
    def get_config(self) -> dict:
        """JSON-able constructor kwargs."""

    @property
    def prior_dim(self) -> int:
        """How many latent coordinates the pipeline keeps for a prior (:meth:`to_prior`); all by default."""
        return self.latent_dim

    def to_prior(self, z: torch.Tensor) -> torch.Tensor:
        """``z [B, latent_dim]`` -> the coordinates a prior models ``[B, prior_dim]`` (identity by default; a
        learned latent mask keeps only its active dimensions). :meth:`from_prior` maps them back."""
        return z

    def from_prior(self, u: torch.Tensor) -> torch.Tensor:
        """``u [B, prior_dim]`` -> latents ``[B, latent_dim]`` for :meth:`decode` (identity by default)."""
        return u

    def check_representation(self, representation) -> None:
        """Raise ``ValueError`` if the codec cannot work with this representation (its unit geometry is
        already passed to the constructor); nothing to check by default."""

    def decode_sample(self, z: torch.Tensor, rng: np.random.Generator, scale: float = 1.0) -> torch.Tensor:
        """One draw of a stochastic decoder (std of its randomness times ``scale``); ``decode`` otherwise."""
        return self.decode(z)

    def forward(self, units: torch.Tensor) -> torch.Tensor:
        """Training reconstruction of ``units``: ``decode(encode(units))`` unless a codec says otherwise
        (a VAE samples its posterior here)."""
        return self.decode(self.encode(units))

    def reconstruction_target(self, units: torch.Tensor) -> torch.Tensor:
        """What :meth:`forward` is trained to reproduce (the input; a band-split codec: its low band)."""
        return units

    def bounded_latents(self) -> slice | None:
        """Latent coordinates a generator keeps within the range of the training latents (a band-split
        decoder's envelope: a prior's tail would decode to loud noise); None (no clipping) by default."""
        return None

    def regulariser(self) -> torch.Tensor | None:
        """The codec's own loss term from the last training ``forward`` (a VAE's KL), or None."""
        return None

    def log_volume(self, z: torch.Tensor) -> torch.Tensor:
        """``[B]``: log of the decoder's volume change at ``z`` (½ log det JᵀJ), so that
        log p(x) = log p_prior(z) − log_volume(z) for an injective decoder with left inverse ``encode``.
        Only codecs with ``exact_likelihood = True`` implement it."""
        raise NotImplementedError(f"{type(self).__name__} has no exact likelihood")

    def latent_sample(self, n: int, seed: int = 0) -> np.ndarray:
        """``(n, D)`` latents standing in for encoded data when ``has_encoder`` is False (the pipeline's latents
        stage fits the prior on them); only such codecs implement it."""
        raise NotImplementedError(f"{type(self).__name__} encodes its data: use encode")

    def log_density(self, units: torch.Tensor) -> torch.Tensor:
        """``[B]``: a normalised log-density of ``units [B, *unit_shape]`` the codec carries itself (LED's
        discriminator); only codecs with ``has_encoder = False`` implement it."""
        raise NotImplementedError(f"{type(self).__name__} has no density of its own")
