"""Sample-quality numbers for generated images: IS / FID / coverage from a classifier, memorisation in pixel space.

The classifier-based numbers are :mod:`seqgen.evaluation.generative`'s functions applied to
:class:`~seqgen.evaluation.image_classifier.ImageDigitClassifier` outputs (or, for unlabelled
images, FID on :class:`~seqgen.evaluation.image_features.ImageFeatureExtractor` features); the
memorisation check compares raw pixels, so it does not depend on any trained network.
"""
from __future__ import annotations

import numpy as np

from . import generative as gm


def _flat(images) -> np.ndarray:
    x = np.asarray(images.detach().cpu() if hasattr(images, "detach") else images, dtype=np.float64)
    return x.reshape(len(x), -1)


def pixel_memorisation(generated, train, test) -> dict:
    """Euclidean nearest-training-image distances in pixel space (images ``[N, C, H, W]`` in [0, 1]).

    ``ratio`` = median NN distance of generated images / that of real held-out test images (≪ 1:
    the model copies training images); ``fraction_closer_than_test_p5`` = share of generated images
    nearer to some training image than 95 % of real test images are.
    """
    tr = _flat(train)
    d_gen = gm.nearest_neighbour_distances(_flat(generated), tr)
    d_test = gm.nearest_neighbour_distances(_flat(test), tr)
    gen_med, test_med = float(np.median(d_gen)), float(np.median(d_test))
    return {"generated_nn_train_median": gen_med, "test_nn_train_median": test_med,
            "ratio": gen_med / test_med if test_med > 0 else None,
            "fraction_closer_than_test_p5": float(np.mean(d_gen < np.percentile(d_test, 5)))}


def digit_scores(clf, generated, test, train=None) -> dict:
    """IS, mIS, digits covered and FID-to-test of ``generated [N, 1, H, W]`` under digit classifier ``clf``;
    with ``train`` also AM score, FID-to-train and the pixel-space memorisation check."""
    P, F = clf.classify(generated)
    P_test, F_test = clf.classify(test)
    out = {"count": len(P), "inception_score": gm.inception_score(P),
           "modified_inception_score": gm.modified_inception_score(P),
           "digits_covered": gm.digits_covered(P), "fid_test": gm.frechet_distance(F, F_test),
           "real_test_inception_score": gm.inception_score(P_test)}
    if train is not None:
        P_train, F_train = clf.classify(train)
        out.update(am_score=gm.am_score(P, P_train.mean(0)), fid_train=gm.frechet_distance(F, F_train),
                   memorisation=pixel_memorisation(generated, train, test))
    return out


def feature_fid(extractor, generated, reference) -> float:
    """FID between ``generated`` and ``reference`` images in ``extractor``'s feature space (any object with
    ``features(images) -> (N, F)``, e.g. the face feature encoder or the digit classifier's ``classify``)."""
    feats = extractor.features if hasattr(extractor, "features") else (lambda x: extractor.classify(x)[1])
    return gm.frechet_distance(feats(generated), feats(reference))
