"""Worked example: plug your own dataset into seqgen and train a recipe on it, from Python.

The dataset here reads a Kaldi-style ``wav.scp`` manifest (``<utterance-id> <path>`` per line, one
manifest per split) — a common way audio corpora are listed. It is referred to from the recipe by
dotted path (``data.source = "custom_dataset:ManifestDataset"``), so seqgen itself is untouched.

    python egs/custom_dataset.py --fsdd ../shared/data/fsdd --out runs/manifest_demo [--epochs 2]

The demo writes manifests for two FSDD digits, trains the spoken-digit recipe on them through the
manifest dataset, and generates a few utterances.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from seqgen.audio.io import load_many
from seqgen.data.base import Dataset, Example
from seqgen.errors import DataError


class ManifestDataset(Dataset):
    """Examples listed in ``<root>/<split>.scp``; the label is the id's prefix before ``_`` if numeric."""

    folder = ""  # found via --data / data.path only

    @staticmethod
    def looks_valid(root: Path) -> bool:  # how seqgen's data locator recognises a folder of this dataset
        return (root / "train.scp").is_file()

    def __init__(self, root, label_from_id: bool = True):
        self.root = Path(root)
        self.label_from_id = label_from_id

    def load(self, split, *, sample_rate=8000, progress=False, strict=False):
        scp = self.root / f"{split}.scp"
        if not scp.is_file():
            raise DataError(f"no manifest {scp}")
        entries = [line.split(maxsplit=1) for line in scp.read_text().splitlines() if line.strip()]
        ids = {Path(p.strip()): i for i, p in entries}
        out = []
        for path, x in load_many(list(ids), sample_rate, progress=progress, strict=strict):
            uid = ids[path]
            head = uid.split("_")[0]
            out.append(Example(uid, x, label=int(head) if self.label_from_id and head.isdigit() else None))
        return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fsdd", required=True, help="FSDD folder (holding recordings/)")
    ap.add_argument("--out", default="runs/manifest_demo")
    ap.add_argument("--epochs", type=int, default=2)
    args = ap.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).parent))  # so "custom_dataset:ManifestDataset" imports
    from seqgen.config import load_recipe
    from seqgen.pipeline import Generator, train

    wavs = sorted(Path(args.fsdd).glob("recordings/[38]_theo_*.wav"))
    if not wavs:  # before anything is written
        raise SystemExit(f"error: --fsdd {args.fsdd}: no FSDD recordings there (expected recordings/3_theo_0.wav, "
                         f"...; the path is relative to {Path.cwd()})")
    manifests = Path(args.out) / "manifests"
    manifests.mkdir(parents=True, exist_ok=True)
    counts = {}
    for split, keep in (("train", lambda t: t >= 5), ("test", lambda t: t < 5)):
        lines = [f"{w.stem} {w.resolve()}" for w in wavs if keep(int(w.stem.split("_")[2]))]
        (manifests / f"{split}.scp").write_text("\n".join(lines) + "\n")
        counts[split] = len(lines)

    recipe = Path(__file__).resolve().parents[1] / "recipes" / "spoken_digits"
    # switching data.source drops the FSDD-specific options (digits, speakers) of the recipe
    cfg = load_recipe(recipe, ["data.source=custom_dataset:ManifestDataset", f"train.epochs={args.epochs}",
                               "prior.n_states=8", "prior.n_iter=10"])
    from seqgen.errors import SeqgenError

    try:
        run = train(cfg, args.out, data=str(manifests), progress=False, generate_examples=2)
    except SeqgenError as e:
        raise SystemExit(f"error: {e}") from None
    m = run.read_metrics()
    print(f"trained on {counts['train']} manifest utterances: AE test SNR {m['autoencoder_test']['snr_db']:.2f} dB, "
          f"HMM test log-likelihood {m['priors']['default']['test_ll_per_frame']:.2f} nats/frame")
    gen = Generator(run.path)
    recs = gen.write_examples(Path(args.out) / "generated", 3, seed=0)
    print(f"generated {len(recs)} utterances in {Path(args.out) / 'generated'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
