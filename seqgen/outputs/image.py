"""Image output writer: generated images as a PNG grid or single PNGs (atomic writes), and a PNG read back for scoring."""
from __future__ import annotations

import io
import math
import os
from pathlib import Path

import numpy as np

from ..artefacts import atomic_write


def to_uint8(images) -> np.ndarray:
    """``images [N, C, H, W]`` (C = 1 or 3; ``[N, H, W]`` = grayscale) in [0, 1] -> ``[N, H, W, C]`` uint8.

    Values outside [0, 1] are clipped (a decoder's output may overshoot slightly); NaN/Inf are refused.
    """
    x = np.asarray(images.detach().cpu() if hasattr(images, "detach") else images, dtype=np.float64)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"images must be [N, 1 or 3, H, W], got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("refusing to write images containing NaN or Inf")
    return np.round(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8).transpose(0, 2, 3, 1)


def _png_bytes(a: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a).save(buf, format="PNG")
    return buf.getvalue()


def make_grid(images, nrow: int = 8, padding: int = 2, pad_value: float = 1.0) -> np.ndarray:
    """``images [N, C, H, W]`` -> one ``[H', W', C]`` uint8 mosaic, ``nrow`` images per row, ``padding``
    pixels of ``pad_value`` between and around them (torchvision's layout)."""
    a = to_uint8(images)
    n, h, w, c = a.shape
    if n == 0 or nrow < 1:
        raise ValueError(f"need at least one image and nrow >= 1, got {n} images, nrow={nrow}")
    cols = min(nrow, n)
    rows = math.ceil(n / cols)
    grid = np.full((rows * (h + padding) + padding, cols * (w + padding) + padding, c),
                   int(round(np.clip(pad_value, 0, 1) * 255)), dtype=np.uint8)
    for i in range(n):
        r, k = divmod(i, cols)
        y, x = padding + r * (h + padding), padding + k * (w + padding)
        grid[y : y + h, x : x + w] = a[i]
    return grid


def save_grid(images, path: str | os.PathLike, nrow: int = 8, padding: int = 2, pad_value: float = 1.0) -> Path:
    """Write ``images [N, C, H, W]`` in [0, 1] as one PNG mosaic at ``path`` (atomically); returns the path."""
    path = Path(path)
    data = _png_bytes(make_grid(images, nrow, padding, pad_value))
    with atomic_write(path) as f:
        f.write(data)
    return path


def save_images(images, out_dir: str | os.PathLike, prefix: str = "sample") -> list[Path]:
    """Write each of ``images [N, C, H, W]`` as ``out_dir/{prefix}_{i:04d}.png`` (atomically); returns the paths."""
    a = to_uint8(images)
    out_dir = Path(out_dir)
    width = max(4, len(str(len(a) - 1)))
    paths = []
    for i, im in enumerate(a):
        p = out_dir / f"{prefix}_{i:0{width}d}.png"
        with atomic_write(p) as f:
            f.write(_png_bytes(im))
        paths.append(p)
    return paths


def load_image(path: str | os.PathLike, size=None, channels: int = 1) -> np.ndarray:
    """An image file (PNG, JPEG) -> ``(channels, H, W)`` float32 in [0, 1], for ``seqgen score some.png``.

    ``size=(H, W)`` centre-crops to that aspect ratio and resizes; ``None`` keeps the file's own size.
    A missing or undecodable file is a one-line DataError.
    """
    from ..data.image.transform import read_image

    return read_image(path, size, channels)
