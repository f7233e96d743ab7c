"""LED on MNIST 32×32 (Ben-Dov et al., Table 2 / Fig. 9): bits per pixel and FID of a trained `led_mnist` run.

    seqgen train recipes/led_mnist --out runs/led_mnist
    python benchmarks/led_mnist.py runs/led_mnist [--data FOLDER] [--n 2000]

Numbers: bits/pixel (256 levels, :func:`seqgen.codecs.led.bits_per_dim`) of the held-out images under the
discriminator's normalised density; of generated images under the generator's own tracked density and under
the discriminator; FID and IS on the MNIST digit classifier seqgen trains (its 128-d penultimate features;
generated 32×32 images are cropped back to the central 28×28), with the train-vs-test FID as the floor.
Writes ``benchmarks/results/led_mnist.json`` and ``recipes/led_mnist/samples_by_density.png`` (Fig. 9: the
most and the least likely generated digits under the discriminator).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run")
    ap.add_argument("--data", default=None, help="the MNIST folder (default: the run's data.json)")
    ap.add_argument("--n", type=int, default=2000, help="generated and held-out images")
    ap.add_argument("--out", default=str(HERE / "results" / "led_mnist.json"))
    ap.add_argument("--plot", default=str(REPO / "recipes" / "led_mnist" / "samples_by_density.png"))
    a = ap.parse_args()

    import torch

    from seqgen.artefacts import read_json
    from seqgen.codecs.io import load_codec
    from seqgen.codecs.led import bits_per_dim
    from seqgen.data.image.mnist import MNIST
    from seqgen.evaluation.generative import frechet_distance, inception_score
    from seqgen.evaluation.image_classifier import get_mnist_classifier
    from seqgen.outputs.image import save_grid

    torch.set_num_threads(1)
    run = Path(a.run)
    cfg = {k: v for k, v in read_json(run / "config.json").items() if k != "recipe_dir"}  # no machine paths
    root = Path(a.data or read_json(run / "data.json")["root"])
    codec = load_codec(run / "autoencoder.pt")
    pad = int(cfg["data"].get("pad", 0))
    ds = MNIST(root, pad=pad)
    test = np.stack([e.x for e in ds.load("test", size=tuple(codec.unit_shape[1:]))][: a.n])
    train = np.stack([e.x for e in MNIST(root).load("train")][: a.n])
    D = int(np.prod(codec.unit_shape))
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        held = torch.cat([codec.log_density(torch.as_tensor(test[b : b + 250])) for b in range(0, len(test), 250)])
        ys, lq, ld = [], [], []
        for b in range(0, a.n, 250):
            y, log_q = codec.sample(min(250, a.n - b), generator=g)
            ys.append(y), lq.append(log_q), ld.append(codec.log_density(y))
    y, lq, ld = torch.cat(ys).numpy(), torch.cat(lq), torch.cat(ld)
    crop = np.clip(y[:, :, pad : y.shape[2] - pad, pad : y.shape[3] - pad], 0, 1)
    clf = get_mnist_classifier(root, progress=False)
    p_gen, f_gen = clf.classify(crop)
    _, f_test = clf.classify(test[:, :, pad : test.shape[2] - pad, pad : test.shape[3] - pad])
    _, f_train = clf.classify(train)
    row = {"test_bits_per_dim": float(bits_per_dim(held, D).mean()),
           "generated_bits_per_dim_generator": float(bits_per_dim(lq, D).mean()),
           "generated_bits_per_dim_discriminator": float(bits_per_dim(ld, D).mean()),
           "fid_test": frechet_distance(f_gen, f_test), "fid_train_vs_test": frechet_distance(f_train, f_test),
           "inception_score": inception_score(p_gen), "log_normaliser": float(codec.log_normaliser),
           "epochs": len(read_json(run / "metrics.json")["autoencoder_history"]["epoch"]), "n": a.n}
    print(json.dumps(row, indent=2))
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "host": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
            "load_average": round(os.getloadavg()[0], 2), "run": run.name, "config": cfg,
            "classifier": clf.info.get("split", "") if isinstance(clf.info, dict) else ""}
    Path(a.out).write_text(json.dumps({"name": "led_mnist", "meta": meta, "rows": [row],
                                       "paper": {"fid": 4.19, "bits_per_dim_real": 1.0}}, indent=2) + "\n")
    order = np.argsort(-ld.numpy())
    Path(a.plot).parent.mkdir(parents=True, exist_ok=True)
    save_grid(np.clip(np.concatenate([y[order[:32]], y[order[-32:]]]), 0, 1), Path(a.plot), nrow=8)
    print(f"wrote {a.out} and {a.plot}")


if __name__ == "__main__":
    main()
