"""IDX files (LeCun's MNIST format), gzipped or not: a big-endian header, then one C-ordered array.

Layout: two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
0x0E float64), the number of dimensions ``k``, ``k`` big-endian uint32 sizes, then exactly
prod(sizes) items, big-endian. Every way a file can be damaged (not IDX, wrong shape, short or long
payload, a cut-off gzip stream) is a one-line :class:`~seqgen.errors.DataError` naming the file.
"""
from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from ...errors import DataError

DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    if raw[:2] != _GZIP_MAGIC:  # decide by content, not by the name: people gunzip and keep ".gz" or vice versa
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DataError(f"{path}: corrupt or truncated gzip stream ({msg})") from None


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """The array stored in IDX file ``path`` (native byte order, the file's shape)."""
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in DTYPES:
        raise DataError(f"{path}: not an IDX file (bad magic number {data[:4].hex() or 'none'})")
    ndim = data[3]
    if ndim == 0:
        raise DataError(f"{path}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: truncated IDX header ({len(data)} bytes, need {header})")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", ndim, 4))
    dtype = np.dtype(DTYPES[data[2]])
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "trailing bytes after the data"
        raise DataError(f"{path}: size mismatch, {what} ({len(data)} bytes, header {shape} implies {expected})")
    return np.frombuffer(data, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def read_images(path: str | os.PathLike) -> np.ndarray:
    """MNIST-style image file -> ``(N, H, W)`` uint8."""
    x = read_idx(path)
    if x.ndim != 3 or x.dtype != np.uint8:
        raise DataError(f"{path}: expected uint8 images (N, H, W), got {x.dtype} array of shape {x.shape}")
    return x


def read_labels(path: str | os.PathLike, n_classes: int = 10) -> np.ndarray:
    """MNIST-style label file -> ``(N,)`` int64 in ``0..n_classes-1``."""
    y = read_idx(path)
    if y.ndim != 1 or y.dtype != np.uint8:
        raise DataError(f"{path}: expected uint8 labels (N,), got {y.dtype} array of shape {y.shape}")
    if len(y) and int(y.max()) >= n_classes:
        raise DataError(f"{path}: label {int(y.max())} out of range 0..{n_classes - 1}")
    return y.astype(np.int64)


def find(root: str | os.PathLike, stem: str) -> Path | None:
    """``root/stem`` or ``root/stem.gz`` (e.g. ``train-images-idx3-ubyte``), whichever exists (plain first)."""
    for name in (stem, stem + ".gz"):
        p = Path(root) / name
        if p.is_file():
            return p
    return None
