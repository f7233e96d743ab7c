"""Codecs (autoencoders): one base class, audio and image models, artefact I/O."""
from .base import Codec
from .io import decode_sequences, encode_sequences, load_codec, save_codec

__all__ = ["Codec", "decode_sequences", "encode_sequences", "load_codec", "save_codec"]
