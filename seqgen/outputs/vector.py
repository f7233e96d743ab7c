"""Output writer for vector examples: one ``.npy`` array ``(N, dim)`` and a 2-d projection plot."""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from ..artefacts import atomic_write


def save_vectors(vectors: np.ndarray, path: str | os.PathLike) -> Path:
    """Write ``vectors (N, dim)`` float32 as ``path`` (``.npy``, atomically, no pickle); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.save(buf, np.asarray(vectors, np.float32), allow_pickle=False)
    with atomic_write(path) as f:
        f.write(buf.getvalue())
    return path


def projection_plot(real: np.ndarray, generated: np.ndarray, path: str | os.PathLike, title: str = "") -> Path:
    """Scatter of ``real`` and ``generated`` vectors ``(N, dim)`` on the first two principal axes of ``real``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..plots import _save

    mean = real.mean(0)
    axes = np.linalg.svd(real - mean, full_matrices=False)[2][:2].T
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    for x, label, c in ((real, "held-out data", "0.6"), (generated, "generated", "C3")):
        p = (x - mean) @ axes
        ax.scatter(p[:, 0], p[:, 1], s=3, alpha=0.5, color=c, label=label)
    ax.set(xlabel="PC 1", ylabel="PC 2", title=title)
    ax.legend(markerscale=4)
    return _save(fig, path)
