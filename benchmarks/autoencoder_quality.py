"""Train (or load) the conv autoencoder on FSDD and print its test-split reconstruction quality table."""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np


def load_fsdd(root: Path, split: str, peak: float = 0.9) -> list[np.ndarray]:
    """Peak-normalised utterances of FSDD ``split`` ("train": takes 5-49, "test": takes 0-4)."""
    import soundfile as sf

    out = []
    for path in sorted((root / "recordings").glob("*.wav")):
        take = int(path.stem.split("_")[2])
        if (take < 5) != (split == "test"):
            continue
        x, sr = sf.read(path, dtype="float32")
        if sr != 8000:
            raise ValueError(f"{path} is {sr} Hz, expected 8000")
        x = x.mean(1) if x.ndim > 1 else x
        out.append((peak * x / max(np.abs(x).max(), 1e-8)).astype(np.float32))
    return out


def evaluate(model, signals: list[np.ndarray], sr: int = 8000, device: str = "cpu") -> dict:
    """Reconstruct every utterance (frame -> encode -> decode -> overlap-add) and measure it."""
    from seqgen.audio import frame, overlap_add
    from seqgen.autoencoder import decode_sequences, encode_sequences
    from seqgen.evaluation import band_energy_db, band_snr_db, snr_db, spectral_lines

    frames = [frame(x).astype(np.float32) for x in signals]
    recon = decode_sequences(model, encode_sequences(model, frames, device=device), device=device)
    est = [overlap_add(r, length=len(x)) for r, x in zip(recon, signals)]
    ref_all, est_all = np.concatenate(signals), np.concatenate(est)
    e_ref, e_est = band_energy_db(ref_all, sr), band_energy_db(est_all, sr)
    per_utt = [np.array(list(band_energy_db(e, sr).values())) - np.array(list(band_energy_db(x, sr).values()))
               for x, e in zip(signals, est)]
    return {
        "snr_db": snr_db(ref_all, est_all),
        "mean_utterance_snr_db": float(np.mean([snr_db(x, e) for x, e in zip(signals, est)])),
        "band_energy_ref_db": e_ref,
        "band_energy_est_db": e_est,
        "band_energy_diff_db": {k: e_est[k] - e_ref[k] for k in e_ref},
        "mean_utterance_band_diff_db": dict(zip(e_ref, np.mean(per_utt, 0).tolist())),
        "band_snr_db": band_snr_db(ref_all, est_all, sr),
        "spectral_lines_hz": spectral_lines(ref_all, est_all, sr).tolist(),
    }


def print_table(name: str, r: dict) -> None:
    print(f"\n== {name}: test SNR {r['snr_db']:.2f} dB (mean per utterance {r['mean_utterance_snr_db']:.2f} dB)")
    print(f"{'band Hz':>10} {'orig dB':>8} {'recon dB':>9} {'diff':>6} {'utt diff':>8} {'band SNR':>9}")
    for k in r["band_energy_ref_db"]:
        print(f"{k:>10} {r['band_energy_ref_db'][k]:8.2f} {r['band_energy_est_db'][k]:9.2f} "
              f"{r['band_energy_diff_db'][k]:6.2f} {r['mean_utterance_band_diff_db'][k]:8.2f} "
              f"{r['band_snr_db'][k]:9.2f}")
    lines = r["spectral_lines_hz"]
    print(f"spectral lines in reconstruction absent from input: {lines if lines else 'none'}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--fsdd-root", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "fsdd")
    p.add_argument("--model", type=Path, help="evaluate this saved autoencoder instead of training one")
    p.add_argument("--out", type=Path, default=Path("runs/ae_bench"), help="folder for weights, checkpoint, results")
    p.add_argument("--loss", default="mrstft", choices=["mrstft", "mse"])
    p.add_argument("--epochs", type=int, default=None, help="default: train_autoencoder's default")
    p.add_argument("--channels", default=None, help="e.g. 32,64,64 (default: the model's)")
    p.add_argument("--strides", default=None, help="e.g. 8,4,1")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--fft-sizes", default=None, help="mrstft resolutions, e.g. 64,128,256,512")
    p.add_argument("--max-utterances", type=int, default=None, help="train on the first N only (smoke runs)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--resume", action="store_true")
    a = p.parse_args()

    import torch

    from seqgen.audio import frame
    from seqgen.autoencoder import ConvAutoencoder, load_autoencoder, save_autoencoder, train_autoencoder

    torch.set_num_threads(a.threads)
    train_sig, test_sig = load_fsdd(a.fsdd_root, "train"), load_fsdd(a.fsdd_root, "test")
    result: dict = {"threads": a.threads}
    if a.model:
        model = load_autoencoder(a.model, a.device)
    else:
        kw = {}
        if a.channels:
            kw["channels"] = [int(c) for c in a.channels.split(",")]
        if a.strides:
            kw["strides"] = [int(s) for s in a.strides.split(",")]
        torch.manual_seed(a.seed)
        model = ConvAutoencoder(**kw)
        train_kw = {k: v for k, v in dict(epochs=a.epochs, batch_size=a.batch_size, lr=a.lr).items() if v is not None}
        if a.fft_sizes:
            train_kw["loss_options"] = {"fft_sizes": [int(n) for n in a.fft_sizes.split(",")]}
        seqs = [frame(x).astype(np.float32) for x in train_sig[: a.max_utterances]]
        loads, cpu = [], [time.process_time()]

        def log(epoch, rec):
            # CPU seconds per epoch alongside wall time: on a shared machine wall time mostly measures the neighbours
            loads.append(os.getloadavg()[0])
            cpu.append(time.process_time())
            print(f"epoch {epoch}: " + ", ".join(f"{k}={v:.4g}" for k, v in rec.items() if k != "epoch")
                  + f", cpu_s={cpu[-1] - cpu[-2]:.1f}, load={loads[-1]:.2f}", flush=True)

        a.out.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        hist = train_autoencoder(model, seqs, valid_seqs=[frame(x).astype(np.float32) for x in test_sig[:100]],
                                 loss=a.loss, seed=a.seed, device=a.device, checkpoint_path=a.out / "checkpoint.pt",
                                 resume=a.resume, log=log, **train_kw)
        save_autoencoder(a.out / "autoencoder.pt", model)
        result.update(config=model.get_config(), history=hist, train_wall_s=time.perf_counter() - t0,
                      mean_epoch_s=float(np.mean(hist["time_s"])), train_load_avg=loads,
                      epoch_cpu_s=np.diff(cpu).tolist())
        print(f"trained {len(hist['time_s'])} epochs: mean {result['mean_epoch_s']:.1f} s/epoch, "
              f"total {sum(hist['time_s']):.0f} s, mean 1-min load {np.mean(loads) if loads else float('nan'):.2f} "
              f"on {os.cpu_count()} CPUs, {a.threads} torch threads")
    result["test"] = evaluate(model, test_sig, device=a.device)
    print_table(a.model.name if a.model else f"{a.loss} autoencoder", result["test"])
    if not a.model:
        (a.out / "results.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
