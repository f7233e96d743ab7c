"""Image codecs: the invertible perceptron, a plain MLP autoencoder, an MLP VAE baseline and a DCGAN-style conv autoencoder."""
from .conv2d import ConvAutoencoder2d
from .invertible import LeakySigmoid, LeakyTanh, TangentContinued
from .mlp import MLPAutoencoder
from .mlp_vae import MLPVAE
from .perceptron import InvertiblePerceptron

__all__ = ["ConvAutoencoder2d", "InvertiblePerceptron", "LeakySigmoid", "LeakyTanh", "MLPAutoencoder", "MLPVAE", "TangentContinued"]
