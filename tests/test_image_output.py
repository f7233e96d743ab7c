"""PNG writers: grid layout and round trips through load_image; atomic writes; bad input refused."""
import numpy as np
import pytest

from seqgen.errors import DataError
from seqgen.outputs.image import load_image, make_grid, save_grid, save_images


def _quantised(rng, shape):
    return (rng.integers(0, 256, shape) / 255.0).astype(np.float32)  # exactly representable in 8 bits


def test_grid_layout_and_round_trip(tmp_path, rng):
    imgs = _quantised(rng, (10, 1, 28, 28))
    p = save_grid(imgs, tmp_path / "samples" / "grid.png", nrow=4, padding=2)
    assert p.exists() and not list(p.parent.glob(".*.tmp"))
    g = load_image(p)  # own size, grayscale
    assert g.shape == (1, 3 * 30 + 2, 4 * 30 + 2)
    for i in range(10):
        r, c = divmod(i, 4)
        np.testing.assert_array_equal(g[0, 2 + 30 * r : 30 + 30 * r, 2 + 30 * c : 30 + 30 * c], imgs[i, 0])
    assert (g[:, :, :2] == 1).all() and (g[0, 2 + 60 :, 2 + 60 :] == 1).all()  # padding + empty cells = pad_value
    assert make_grid(imgs[:3], nrow=8).shape == (32, 3 * 30 + 2, 1)  # fewer images than nrow: one short row


def test_single_pngs_rgb_and_clipping(tmp_path, rng):
    imgs = _quantised(rng, (3, 3, 16, 20))
    paths = save_images(imgs, tmp_path / "png", prefix="gen")
    assert [p.name for p in paths] == ["gen_0000.png", "gen_0001.png", "gen_0002.png"]
    np.testing.assert_array_equal(load_image(paths[1], channels=3), imgs[1])
    assert load_image(paths[1], size=(16, 20), channels=3).shape == (3, 16, 20)
    sq = load_image(paths[0], size=(8, 8))  # centre square crop (16x16 of 16x20), then resize
    assert sq.shape == (1, 8, 8) and 0 <= sq.min() and sq.max() <= 1
    over = save_images(np.full((1, 1, 4, 4), 1.7), tmp_path / "o", prefix="x")[0]
    assert (load_image(over) == 1.0).all()


def test_bad_input_refused(tmp_path):
    with pytest.raises(ValueError, match="NaN"):
        save_grid(np.full((2, 1, 4, 4), np.nan), tmp_path / "g.png")
    with pytest.raises(ValueError, match=r"\[N, 1 or 3, H, W\]"):
        save_images(np.zeros((2, 2, 4, 4)), tmp_path)
    assert not (tmp_path / "g.png").exists()
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    with pytest.raises(DataError, match="bad.png: cannot decode") as e:
        load_image(tmp_path / "bad.png")
    assert "\n" not in str(e.value)
    with pytest.raises(DataError, match="no such file"):
        load_image(tmp_path / "missing.png")
