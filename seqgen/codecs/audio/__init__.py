"""Audio codecs: the conv waveform autoencoder, its band-split noise decoder, the VAE baseline."""
from .conv1d import ConvAutoencoder
from .vae import ConvVAE

__all__ = ["ConvAutoencoder", "ConvVAE"]
