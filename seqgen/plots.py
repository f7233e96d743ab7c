"""Figures people would rather look at than read: spectrograms of real vs generated audio (paper Figs. 6-7),
a 2-d latent space under its prior (Fig. 2)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def _save(fig, path: str | Path) -> Path:
    """Write a figure as PNG atomically and close it."""
    import matplotlib.pyplot as plt

    from .artefacts import atomic_write

    path = Path(path)
    with atomic_write(path) as f:
        fig.savefig(f, format="png", dpi=110)
    plt.close(fig)
    return path


def _spec_db(x: np.ndarray, sr: int, n_fft: int = 256) -> np.ndarray:
    import librosa

    S = np.abs(librosa.stft(x.astype(np.float32), n_fft=n_fft, hop_length=n_fft // 4)) ** 2
    return librosa.power_to_db(S, ref=1.0, top_db=None)


def spectrogram_comparison(real: list[tuple[str, np.ndarray]], generated: list[tuple[str, np.ndarray]],
                           sr: int, path: str | Path, title: str = "") -> Path:
    """Log-power spectrograms of training vs generated audio on one colour scale: two rows (top:
    training, bottom: generated) for several clips (the paper's Fig. 6), or, for one long clip each,
    side by side (Fig. 7)."""
    import matplotlib

    matplotlib.use("Agg")
    import librosa.display
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator


    cols = max(len(real), len(generated), 1)
    side_by_side = len(real) == len(generated) == 1
    shape, size = ((1, 2), (11.0, 3.8)) if side_by_side else ((2, cols), (3.2 * cols, 5.6))
    fig, axes = plt.subplots(*shape, figsize=size, squeeze=False, constrained_layout=True)
    vmax = max(_spec_db(x, sr).max() for _, x in real + generated if len(x))
    img = None
    for row, (label, items) in enumerate((("training", real), ("generated", generated))):
        for c in range(cols):
            ax = axes[0][row] if side_by_side else axes[row][c]
            if c >= len(items):
                ax.axis("off")
                continue
            name, x = items[c]
            img = librosa.display.specshow(_spec_db(x, sr), sr=sr, hop_length=64, x_axis="time", y_axis="hz",
                                           ax=ax, vmin=vmax - 80, vmax=vmax, cmap="magma")
            ax.xaxis.set_major_locator(MaxNLocator(5))  # librosa's default crowds short clips with ticks
            ax.set_title(f"{label}: {name}", fontsize=8)
            if c or (side_by_side and row):
                ax.set_ylabel("")
    if img is not None:
        fig.colorbar(img, ax=axes, format="%+.0f dB", shrink=0.8)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def latent_density_figure(Z: np.ndarray, labels: np.ndarray, log_density, samples: np.ndarray,
                          path: str | Path, title: str = "") -> Path:
    """The paper's Fig. 2 for a 2-d latent: training latents ``Z (N, 2)`` coloured by label over contours of
    the prior's log-density (``log_density(points (M, 2)) -> (M,)``), beside decoded prior samples
    ``samples (n, C, H, W)``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .outputs.image import make_grid

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10.5, 4.8), constrained_layout=True)
    lo, hi = np.percentile(Z, 0.5, axis=0), np.percentile(Z, 99.5, axis=0)
    pad = 0.15 * (hi - lo)
    gx, gy = np.meshgrid(np.linspace(lo[0] - pad[0], hi[0] + pad[0], 150), np.linspace(lo[1] - pad[1], hi[1] + pad[1], 150))
    ll = np.asarray(log_density(np.stack([gx.ravel(), gy.ravel()], 1))).reshape(gx.shape)
    ax.contourf(gx, gy, ll, levels=np.linspace(np.percentile(ll, 20), ll.max(), 12), cmap="Greys", alpha=0.8)
    for y in np.unique(labels):
        keep = labels == y
        ax.scatter(Z[keep, 0], Z[keep, 1], s=3, alpha=0.5, label=f"digit {y}" if y >= 0 else "data")
    ax.legend(markerscale=4, fontsize=8)
    ax.set_xlabel("z1 (standardised)")
    ax.set_ylabel("z2 (standardised)")
    ax.set_title("training latents over the prior's log-density", fontsize=9)
    grid = make_grid(samples, nrow=int(np.ceil(np.sqrt(len(samples)))))  # [H, W, C] uint8
    ax2.imshow(grid[..., 0] if grid.shape[-1] == 1 else grid, cmap="gray", vmin=0, vmax=255)
    ax2.axis("off")
    ax2.set_title("decoded prior samples", fontsize=9)
    if title:
        fig.suptitle(title)
    return _save(fig, path)
