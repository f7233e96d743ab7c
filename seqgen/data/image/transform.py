"""Pillow image -> model array ``(C, H, W)`` float32 in [0, 1]: optional box, centre crop to the target shape, resize."""
from __future__ import annotations

from typing import Sequence

import numpy as np


def check_format(size: Sequence[int], channels: int) -> tuple[tuple[int, int], int]:
    """Validate the ``size=(H, W)`` and ``channels`` (1 or 3) a representation asks for."""
    try:
        h, w = (int(s) for s in size)
    except (TypeError, ValueError):
        raise ValueError(f"size must be (height, width), got {size!r}") from None
    if h < 1 or w < 1:
        raise ValueError(f"size must be positive, got {(h, w)}")
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels!r}")
    return (h, w), int(channels)


def center_crop(img, aspect: float = 1.0):
    """The largest centred region of a Pillow image with width/height = ``aspect`` (1: a square); the
    longer side is cut equally at both ends."""
    w, h = img.size
    cw, ch = (w, int(round(w / aspect))) if w / h <= aspect else (int(round(h * aspect)), h)
    left, top = (w - cw) // 2, (h - ch) // 2
    return img.crop((left, top, left + cw, top + ch))


def resize(img, size: tuple[int, int]):
    """Resize a Pillow image to ``size=(H, W)``: Lanczos when shrinking (anti-aliased), bilinear when enlarging
    (Lanczos overshoots at MNIST's hard stroke edges)."""
    from PIL import Image

    h, w = size
    if img.size == (w, h):
        return img
    shrink = w < img.size[0] or h < img.size[1]
    return img.resize((w, h), Image.Resampling.LANCZOS if shrink else Image.Resampling.BILINEAR)


def to_array(img, size: Sequence[int] | None, channels: int = 1, *, box: Sequence[int] = ()) -> np.ndarray:
    """Pillow image -> ``(channels, H, W)`` float32 in [0, 1].

    Order: ``box`` crop ``(x0, y0, x1, y1)`` if given, centre crop to the aspect ratio of ``size``
    (so a portrait becomes a centred square for a square size, never a squashed face), resize to
    ``size``; ``size=None`` keeps the image's own size. Grayscale is Pillow's ITU-R 601 luma ("L");
    a grayscale source asked for 3 channels is replicated.
    """
    img = img.convert("L" if channels == 1 else "RGB")
    if box:
        img = img.crop(tuple(int(b) for b in box))
    size, channels = check_format((img.size[1], img.size[0]) if size is None else size, channels)
    h, w = size
    if img.size[0] * h != img.size[1] * w:
        img = center_crop(img, w / h)
    a = np.asarray(resize(img, size), dtype=np.float32) / 255.0
    return a[None] if a.ndim == 2 else np.ascontiguousarray(a.transpose(2, 0, 1))


def read_image(path, size: Sequence[int] | None = None, channels: int = 1, *, box: Sequence[int] = ()) -> np.ndarray:
    """One image file (JPEG, PNG, anything Pillow reads) -> ``(channels, H, W)`` float32 via :func:`to_array`;
    a missing or undecodable file is a one-line DataError naming it."""
    from PIL import Image, UnidentifiedImageError

    from ...errors import DataError

    try:
        with Image.open(path) as img:
            img.load()
            return to_array(img, size, channels, box=box)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DataError(f"{path}: cannot decode image ({msg})") from None


def resize_batch(images: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """``images (N, H, W)`` uint8 -> ``(N, h, w)`` uint8 resized with :func:`resize` (a no-op at the same size)."""
    from PIL import Image

    (h, w), _ = check_format(size, 1)
    if images.shape[1:] == (h, w):
        return images
    return np.stack([np.asarray(resize(Image.fromarray(im), (h, w))) for im in images])


def tensor_batch(images, size: int, channels: int | None = None):
    """``[N, C, H, W]`` / ``[N, H, W]`` array or tensor in [0, 1] -> float32 CPU tensor ``[N, C', size, size]``
    (bilinear, antialiased resize). ``channels`` None: 1 or 3 accepted, RGB averaged to gray (C' = 1);
    else exactly that many channels are required and kept."""
    import torch
    import torch.nn.functional as F

    x = torch.as_tensor(np.asarray(images) if not isinstance(images, torch.Tensor) else images)
    x = x.detach().to("cpu", torch.float32)
    if x.ndim == 3:
        x = x[:, None]
    allowed = (1, 3) if channels is None else (channels,)
    if x.ndim != 4 or x.shape[1] not in allowed:
        raise ValueError(f"images must be [N, {' or '.join(map(str, allowed))}, H, W] or [N, H, W], got {tuple(x.shape)}")
    if channels is None and x.shape[1] == 3:
        x = x.mean(1, keepdim=True)
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return x
