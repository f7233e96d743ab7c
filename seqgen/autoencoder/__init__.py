"""Waveform autoencoders: model, losses, training and frame-sequence encode/decode."""
from .losses import FrameMSELoss, MultiResolutionSTFTLoss, SegmentSTFTLoss, make_loss
from .model import ConvAutoencoder
from .train import decode_sequences, encode_sequences, load_autoencoder, save_autoencoder, train_autoencoder

__all__ = [
    "ConvAutoencoder",
    "FrameMSELoss",
    "MultiResolutionSTFTLoss",
    "SegmentSTFTLoss",
    "decode_sequences",
    "encode_sequences",
    "load_autoencoder",
    "make_loss",
    "save_autoencoder",
    "train_autoencoder",
]
