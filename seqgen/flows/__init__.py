"""One-way flows (LED): layers that carry the log-density of their output along with it."""
from .conv import CircularConv2d, DepthToSpace, Reshape, circular_conv_logabsdet
from .layers import FlowLayer, FlowSequential, FrozenStatsBatchNorm, Inflate, Reduce, SmoothLeakyReLU, SquareLinear

__all__ = ["CircularConv2d", "DepthToSpace", "FlowLayer", "FlowSequential", "FrozenStatsBatchNorm", "Inflate",
           "Reduce", "Reshape", "SmoothLeakyReLU", "SquareLinear", "circular_conv_logabsdet"]
