"""A run directory summarised in a few lines (``seqgen info``): what it was trained on, how big, how good, how long."""
from __future__ import annotations

from pathlib import Path

from ..artefacts import ArtefactError, read_json_object
from .run_dir import RunDir


def _size(p: Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.is_dir() else (p.stat().st_size if p.exists() else 0)


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.0f} kB"


def _num(v, spec: str = ".2f") -> str:
    return format(v, spec) if isinstance(v, (int, float)) and not isinstance(v, bool) else "?"


def run_summary(run_dir: str | Path) -> str:
    """The text ``seqgen info`` prints."""
    run = RunDir(run_dir)
    cfg = run.load_config()
    m = run.read_metrics()
    try:
        data = read_json_object(run.data) if run.data.exists() else {}
    except ArtefactError:
        data = {}
    lines = [f"run {run.path}: recipe {cfg.name}",
             f"  components: data {cfg.data.source}, representation {cfg.representation.type}, "
             f"autoencoder {cfg.autoencoder.type}, prior {cfg.prior.type}, seed {cfg.seed}"]
    if data:
        lines.append(f"  data: {data.get('n_train', '?')} train / {data.get('n_test', '?')} test examples from "
                     f"{data.get('where', '?')}; fingerprint {data.get('fingerprint', '?')}")
    sizes = {name: _size(run.path / name) for name in ("autoencoder.pt", "latents.npz", "prior.npz", "priors",
                                                        "samples", "plots", "report")}
    lines.append("  sizes: " + ", ".join(f"{k} {_mb(v)}" for k, v in sizes.items() if v)
                 + f"; total {_mb(_size(run.path))}")
    ae = m.get("autoencoder_test") if isinstance(m.get("autoencoder_test"), dict) else {}
    if "snr_db" in ae:
        lines.append(f"  autoencoder: test SNR {_num(ae['snr_db'])} dB")
    elif "mse" in ae:
        lines.append(f"  autoencoder: test MSE {_num(ae['mse'], '.5f')}, PSNR {_num(ae.get('psnr_db'))} dB")
    hist = m.get("autoencoder_history")
    if isinstance(hist, dict) and isinstance(hist.get("train_loss"), list) and hist["train_loss"]:
        lines[-1 if ae else len(lines):] = [(lines[-1] if ae else "  autoencoder:")
                                            + f"; {len(hist['train_loss'])} epochs, final train loss "
                                            f"{_num(hist['train_loss'][-1], '.4g')}"]
    priors = m.get("priors") if isinstance(m.get("priors"), dict) else {}
    if priors:
        lines.append(f"  priors fitted ({len(priors)}; log-likelihood per frame, train / test, nats):")
        for name, r in sorted(priors.items()):
            if isinstance(r, dict):
                lines.append(f"    {name:<16} {str(r.get('type', '?')):<10} {_num(r.get('train_ll_per_frame')):>9} / "
                             f"{_num(r.get('test_ll_per_frame')):<9} fit {_num(r.get('fit_seconds'), '.1f')} s")
    t = m.get("timings_s") if isinstance(m.get("timings_s"), dict) else {}
    if t:
        lines.append("  time per stage: " + ", ".join(f"{k} {_num(v, '.1f')} s" for k, v in t.items()))
    ev = run.path / "eval.json"
    if ev.exists():
        try:
            lines.append(f"  evaluated priors (eval.json): {', '.join(sorted(read_json_object(ev)))}")
        except ArtefactError:
            lines.append("  eval.json: unreadable")
    page = run.path / "report" / "index.html"
    lines.append(f"  report: {page}" if page.exists() else f"  report: none (seqgen report {run.path})")
    return "\n".join(lines)
