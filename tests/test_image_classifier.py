"""MNIST digit classifier (trained on the 8,000-image t10k train part) and the image sample metrics built on it."""
import numpy as np
import pytest

from seqgen.data.image.mnist import MNIST
from seqgen.evaluation import image_classifier as ic
from seqgen.evaluation.image_metrics import digit_scores, pixel_memorisation


@pytest.fixture(scope="module")
def split(data_root):
    ds = MNIST(data_root / "mnist_t10k")
    (xtr, ytr, _, _), (xte, yte, _, _) = ds.arrays("train"), ds.arrays("test")
    return xtr[:, None] / np.float32(255), ytr, xte[:, None] / np.float32(255), yte, data_root / "mnist_t10k"


@pytest.fixture(scope="module")
def clf(split, tmp_path_factory):
    cache = tmp_path_factory.mktemp("classifiers")
    c = ic.get_mnist_classifier(split[4], progress=False, cache=cache)
    c.info["_cache"] = cache
    return c


def test_default_classifier_is_accurate_and_cached(clf, split):
    info = clf.info
    print(f"image digit classifier: test accuracy {info['test_accuracy']:.4f} on {info['n_test']} held-out "
          f"t10k images after {info['train_seconds']:.1f} s training on {info['n_train']}")
    assert info["n_train"] == 8000 and info["n_test"] == 2000 and "8,000" in info["split"]
    assert info["test_accuracy"] >= 0.95
    again = ic.get_mnist_classifier(split[4], progress=False, cache=info["_cache"])  # loaded, not retrained
    assert again.info["cache_key"] == info["cache_key"] and again.info["train_seconds"] == info["train_seconds"]
    P1, F1 = clf.classify(split[2][:50])
    P2, F2 = again.classify(split[2][:50])
    np.testing.assert_allclose(P1, P2, atol=1e-6) and np.testing.assert_allclose(F1, F2, atol=1e-5)
    assert ic.cache_key(split[0][:100], split[1][:100]) != ic.cache_key(split[0][:100], (split[1][:100] + 1) % 10)


def test_classify_shapes_and_input_forms(clf, split):
    import torch

    x = split[2][:40]
    P, F = clf.classify(x)
    assert P.shape == (40, 10) and F.shape == (40, 128) and np.allclose(P.sum(1), 1)
    np.testing.assert_allclose(clf.classify(torch.as_tensor(x[:, 0]))[0], P, atol=1e-6)   # [N, H, W] tensor
    np.testing.assert_allclose(clf.classify(np.repeat(x, 3, 1))[0], P, atol=1e-6)         # RGB -> mean
    big = torch.nn.functional.interpolate(torch.as_tensor(x), size=(32, 32), mode="bilinear")
    assert np.mean(clf.classify(big)[0].argmax(1) == split[3][:40]) >= 0.9                 # 32x32 recipes
    with pytest.raises(ValueError, match="images must be"):
        clf.classify(np.zeros((2, 2, 28, 28)))


def test_digit_scores_separate_real_from_noise_and_copies(clf, split):
    xtr, _, xte, _, _ = split
    real = digit_scores(clf, xte[:1000], xte[1000:], train=xtr[:2000])
    noise = digit_scores(clf, np.random.default_rng(0).random((1000, 1, 28, 28), dtype=np.float32), xte[1000:])
    print({k: v for k, v in real.items() if k != "memorisation"}, real["memorisation"])
    assert real["inception_score"] > 8.5 and real["digits_covered"] == 10
    assert noise["inception_score"] < 3 and noise["fid_test"] > 20 * real["fid_test"]
    assert 0.7 < real["memorisation"]["ratio"] < 1.3
    copies = pixel_memorisation(xtr[:100], xtr[:2000], xte[:500])  # "generated" = training images
    assert copies["ratio"] < 1e-6 and copies["fraction_closer_than_test_p5"] == 1.0
