"""Face feature encoder (conv autoencoder trained on the train split): shapes, cache, and an FID that ranks sensibly."""
import numpy as np
import pytest

from seqgen.artefacts import ArtefactError
from seqgen.data.image.folder import ImageFolder
from seqgen.evaluation import image_features as imf
from seqgen.evaluation.image_metrics import feature_fid


@pytest.fixture(scope="module")
def faces(data_root):
    ds = ImageFolder(data_root / "faces_congress_pd" / "images")
    tr = np.stack([e.x for e in ds.load("train", size=(64, 64))])
    te = np.stack([e.x for e in ds.load("test", size=(64, 64))])
    return tr, te


def test_feature_encoder_trains_caches_and_ranks(faces, tmp_path, monkeypatch):
    tr, te = faces
    monkeypatch.setitem(imf.TRAIN, "epochs", 4)  # the default (20) takes ~25 s of one core; this checks the mechanics
    ext = imf.get_feature_extractor(tr[:400], te, name="faces", cache=tmp_path, progress=False)
    assert ext.info["n_train"] == 400 and ext.info["test_mse"] < 0.03
    f = ext.features(te)
    assert f.shape == (81, 128) and np.isfinite(f).all() and f.std(0).max() > 0
    again = imf.get_feature_extractor(tr[:400], te, name="faces", cache=tmp_path, progress=False)
    np.testing.assert_allclose(again.features(te), f, atol=1e-6)
    assert again.info["train_seconds"] == ext.info["train_seconds"]
    # 32x32 inputs are resized to the encoder's 64x64
    assert ext.features(tr[:5, :, ::2, ::2]).shape == (5, 128)

    noise = np.random.default_rng(0).random(te.shape, dtype=np.float32)
    fid_real = feature_fid(ext, te, tr)
    print(f"feature FID: real test vs train {fid_real:.3f}, uniform noise vs train {feature_fid(ext, noise, tr):.3f}")
    assert feature_fid(ext, noise, tr) > 5 * fid_real

    pt = next(tmp_path.glob("faces_features_*.pt"))
    pt.write_bytes(b"not a state dict")
    with pytest.raises(ArtefactError):
        imf.ImageFeatureExtractor.load(pt)
    with pytest.raises(ValueError, match=r"\[N, 1, H, W\]"):
        ext.features(np.zeros((2, 3, 64, 64)))
