"""`seqgen report`: one run directory — or several, side by side — as a self-contained HTML page.

``write_report(RUN)`` writes ``RUN/report/index.html`` and ``RUN/report/assets/`` (WAVs, PNGs): the
recipe and resolved config, data provenance, training curves, generated examples (audio players with
spectrograms; image grids), reconstructions of test data, metrics tables with the real-data reference
rows. ``write_comparison([A, B], out)`` aligns the same items of several runs row by row. The page opens
from disk: no server, no script, nothing fetched from elsewhere.
"""
from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

import numpy as np

from ..artefacts import ArtefactError, atomic_write, read_json_object
from ..errors import SeqgenError
from . import html_page as H
from .run_dir import RunDir

log = logging.getLogger("seqgen")

#: how many test clips are reconstructed and training clips shown on an audio page
N_CLIPS = 3
CONTINUATION_SECONDS = 2.0


# ---------------------------------------------------------------------------------------------- figures
def _figure():
    """A bare matplotlib figure with one axes (no pyplot state, no layout engine: ~0.15 s to draw and save)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.2))
    fig.subplots_adjust(left=.12, right=.88, bottom=.15, top=.9)
    return fig, fig.add_subplot()


def _savefig(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as f:
        fig.savefig(f, format="png", dpi=80)
    return path


def loss_curve(history: dict, path: str | Path, title: str = "autoencoder training") -> Path | None:
    """Every per-epoch loss series of a training ``history`` (``{"epoch": [...], "train_loss": [...], ...}``)
    in one PNG; None when there is nothing to draw. Called after each epoch by ``seqgen train``."""
    epochs = history.get("epoch") if isinstance(history, dict) else None
    if not isinstance(epochs, list) or not epochs:
        return None
    series = {k: v for k, v in history.items() if k not in ("epoch", "time_s") and isinstance(v, list)
              and len(v) == len(epochs) and all(isinstance(x, (int, float)) for x in v)}
    if not series:
        return None
    fig, ax = _figure()
    other = None
    for i, (k, v) in enumerate(series.items()):
        a = ax if "loss" in k else (other := other or ax.twinx())
        a.plot(epochs, v, marker="o", ms=3, label=k, color=f"C{i}", ls="-" if a is ax else "--")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(alpha=.3)
    handles = [h for a in (ax, other) if a is not None for h in a.get_legend_handles_labels()[0]]
    ax.legend(handles=handles, fontsize=8)
    if other is not None:
        other.set_ylabel("other (dashed)")
    return _savefig(fig, Path(path))


def _prior_curve(history: np.ndarray, path: Path, name: str) -> Path:
    fig, ax = _figure()
    ax.plot(np.arange(1, len(history) + 1), history, marker="o", ms=3)
    ax.set_xlabel("EM iteration")
    ax.set_ylabel("log-likelihood / frame")
    ax.set_title(f"prior {name}")
    ax.grid(alpha=.3)
    return _savefig(fig, path)


def _spectrogram(x: np.ndarray, sr: int, path: Path) -> Path:
    """Log-power spectrogram (0 to sr/2 Hz bottom to top, 80 dB range, magma colours) as a plain PNG.

    Pixels straight from the STFT with matplotlib's colour map, no figure: ~100x faster than
    ``librosa.display.specshow`` + ``savefig``, which matters with a dozen clips per page."""
    import librosa
    from matplotlib import colormaps
    from PIL import Image

    n_fft = 256
    S = librosa.power_to_db(np.abs(librosa.stft(x.astype(np.float32), n_fft=n_fft, hop_length=n_fft // 8)) ** 2,
                            ref=np.max, top_db=80)
    rgb = colormaps["magma"]((S[::-1] + 80) / 80, bytes=True)[..., :3]
    img = Image.fromarray(np.ascontiguousarray(rgb)).resize((320, 96), Image.BILINEAR)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as f:
        img.save(f, format="png")
    return path


# ---------------------------------------------------------------------------------------------- one run
class _Assets:
    """The ``assets/`` folder of a page: copies and new files, referenced relative to ``index.html``."""

    def __init__(self, out: Path, sub: str = ""):
        self.out, self.dir = out, out / "assets" / sub if sub else out / "assets"
        self.dir.mkdir(parents=True, exist_ok=True)

    def rel(self, p: Path) -> str:
        return p.relative_to(self.out).as_posix()

    def copy(self, src: Path, name: str | None = None) -> str:
        dst = self.dir / (name or src.name)
        shutil.copyfile(src, dst)
        return self.rel(dst)

    def audio(self, name: str, x: np.ndarray, sr: int, caption: str) -> H.Markup:
        from ..audio.io import write_wav

        wav = self.dir / f"{name}.wav"
        write_wav(wav, x, sr)
        return H.player(self.rel(wav), caption, self.rel(_spectrogram(x, sr, self.dir / f"{name}_spec.png")))

    def wav_file(self, src: Path, caption: str) -> H.Markup:
        from ..audio.io import load_audio

        sr = _wav_rate(src)
        x = load_audio(src, sr)
        dst = self.copy(src)
        return H.player(dst, caption, self.rel(_spectrogram(x, sr, self.dir / f"{src.stem}_spec.png")))


def _wav_rate(path: Path) -> int:
    import soundfile as sf

    return sf.info(str(path)).samplerate


def _read(path: Path) -> dict:
    try:
        return read_json_object(path) if path.exists() else {}
    except ArtefactError as e:
        log.warning("report: %s", e)
        return {}


def _test_and_train_examples(run: RunDir, cfg, rep, data: str | None, cache: Path):
    """The run's test and training examples (their audio memory-mapped from stores in ``cache``), or
    ``(None, None, why)`` when the data is gone."""
    from .build import make_dataset
    from .examples import cache_split

    try:
        ds, _ = make_dataset(cfg, run.data_root(data))
        return cache_split(rep, ds, "test", cache)[0], cache_split(rep, ds, "train", cache)[0], ""
    except SeqgenError as e:
        return None, None, str(e)


def _items(run: RunDir, assets: _Assets, *, device: str, data: str | None, seed: int | None,
           examples=None) -> list[tuple[str, list]]:
    """The page's media, as ``(section title, [(row key, html)])``; row keys align runs in a comparison."""
    from .generate import Generator

    cfg = run.load_config()
    gen = Generator(run.path, device=device)
    seed = cfg.seed if seed is None else seed
    sections = []
    if gen.modality == "image":
        rows = []
        for name, what in (("samples.png", "generated samples"), ("reconstructions.png",
                           "test images (odd rows) above their reconstructions"),
                           ("nearest_generated.png", "each test image beside its nearest generated image"),
                           ("interpolation.png", "decoded latent interpolation between two test images"),
                           ("latent_2d.png", "2-d latents under the prior's density"),
                           ("samples_by_density.png", "generated images sorted by the discriminator's density")):
            if (run.plots / name).is_file():
                rows.append((name, H.figure(assets.copy(run.plots / name), what)))
        sections.append(("Images", rows))
        return sections
    if gen.modality == "vector":
        return [("Vectors", [(name, H.figure(assets.copy(run.plots / name), what)) for name, what in (
            ("projection.png", "held-out and generated vectors on the data's first two principal axes"),
            ("density.png", "data, the discriminator's log-density and generated points (LED)"))
            if (run.plots / name).is_file()])]
    sr = gen.sample_rate
    gen_rows = [(p.stem, assets.wav_file(p, p.name)) for p in sorted(run.samples.glob("*.wav"))]
    sections.append(("Generated", gen_rows))
    labels = sorted(int(p.stem.rpartition("_")[2]) for p in (run.path / "priors").glob("label_*.json")
                    if p.stem.rpartition("_")[2].isdigit())
    if labels:
        rows = []
        for y in labels:
            x = Generator(run.path, device=device, label=y).examples(1, seed=seed,
                                                                      temperature=cfg.generate.temperature)[0]
            rows.append((f"label_{y}", assets.audio(f"label_{y}", x, sr, f"per-label prior, label {y}")))
        sections.append(("Per-label priors", rows))
    if examples:
        return sections + _audio_items(gen, assets, cfg, seed, *examples, "")
    from .examples import data_cache

    with data_cache(run.path) as cache:  # the run's data read into memory-mapped stores, not into memory
        test, train, why = _test_and_train_examples(run, cfg, gen.rep, data, cache)
        return sections + _audio_items(gen, assets, cfg, seed, test, train, why)


def _audio_items(gen, assets: _Assets, cfg, seed: int, test, train, why: str) -> list[tuple[str, list]]:
    """The test clips with their reconstructions, a prompted continuation and training clips."""
    sr, sections = gen.sample_rate, []
    if test is None:
        sections.append(("Data", [("note", H.Markup(f'<p class="note">training and test audio not shown: '
                                                   f'{H.esc(why)}</p>'))]))
        return sections
    from .examples import reconstruct, to_units

    pick = test[:: max(1, len(test) // N_CLIPS)][:N_CLIPS]
    from .generate import noise_rng

    _, ref, rec = reconstruct(gen.model, gen.rep, to_units(gen.rep, pick), device=gen.device,
                              noise_rng=noise_rng(seed), noise_scale=gen.decoder_noise)  # as generation decodes
    rows = []
    for i, (ex, a, b) in enumerate(zip(pick, ref, rec)):
        rows.append((f"test_{i}", assets.audio(f"test_{i}", a, sr, f"test clip {ex.name}")))
        rows.append((f"recon_{i}", assets.audio(f"recon_{i}", b, sr, "its reconstruction")))
    sections.append(("Test audio and reconstructions", rows))
    y = gen.continue_audio(pick[0].x, CONTINUATION_SECONDS, seed=seed, temperature=cfg.generate.temperature)
    sections.append(("Prompted continuation", [("continuation", assets.audio(
        "continuation", y, sr, f"{pick[0].name} + {CONTINUATION_SECONDS:g} s generated"))]))
    ex = train[:: max(1, len(train) // N_CLIPS)][:N_CLIPS]
    sections.append(("Training examples", [(f"train_{i}", assets.audio(f"train_{i}", e.x, sr, f"training clip {e.name}"))
                                           for i, e in enumerate(ex)]))
    return sections


def _curves(run: RunDir, assets: _Assets) -> list[tuple[str, H.Markup]]:
    """The autoencoder's loss per epoch and each prior's log-likelihood per EM iteration, as ``(key, figure)``."""
    from ..priors import Prior
    from .latents import is_label_prior

    out = []
    hist = run.read_metrics().get("autoencoder_history")
    if (run.plots / "loss.png").is_file():  # drawn by training, after its last epoch
        out.append(("autoencoder loss", H.figure(assets.copy(run.plots / "loss.png"), "autoencoder loss per epoch")))
    elif isinstance(hist, dict) and (p := loss_curve(hist, assets.dir / "loss.png")):
        out.append(("autoencoder loss", H.figure(assets.rel(p), "autoencoder loss per epoch")))
    priors = [("default", run.prior)] + [(q.stem, q.with_suffix("")) for q in sorted((run.path / "priors").glob("*.json"))]
    for name, path in priors:
        if not path.with_suffix(".json").exists() or is_label_prior(name):
            continue
        try:
            h = getattr(Prior.load(path), "history_", None)  # optional fitted state: EM priors record it
        except SeqgenError:
            continue
        if h is not None and len(h) > 1:
            out.append((f"prior {name}", H.figure(assets.rel(_prior_curve(np.asarray(h), assets.dir / f"prior_{name}.png",
                                                                          name)),
                                                  f"prior {name}: log-likelihood per EM iteration")))
    return out


def metric_tables(run: RunDir) -> list[str]:
    """metrics.json and eval.json as HTML tables (eval: generated rows beside the real-data reference rows)."""
    m, out = run.read_metrics(), []
    for key, title in (("autoencoder_test", "Autoencoder on the test split"), ("generation", "Generation")):
        if isinstance(m.get(key), dict):
            out += [f"<h3>{title}</h3>", H.kv_table(m[key])]
    priors = m.get("priors")
    if isinstance(priors, dict) and priors:
        rows = [[n, r.get("type"), r.get("train_ll_per_frame"), r.get("test_ll_per_frame"), r.get("fit_seconds")]
                for n, r in sorted(priors.items()) if isinstance(r, dict)]
        out += ["<h3>Priors (log-likelihood per frame, nats)</h3>",
                H.table(["prior", "type", "train", "test", "fit s"], rows)]
    if isinstance(m.get("timings_s"), dict):
        out += ["<h3>Time per stage (s)</h3>", H.table(list(m["timings_s"]), [list(m["timings_s"].values())])]
    ev = _read(run.path / "eval.json")
    for prior, res in sorted(ev.items()):
        rows = res.get("rows") if isinstance(res, dict) else None
        if not isinstance(rows, dict):
            continue
        flat = {name: H.flatten(r) for name, r in rows.items()}
        cols = [c for c in dict.fromkeys(k for f in flat.values() for k in f) if not isinstance(
            next((f[c] for f in flat.values() if c in f), None), list)]
        names = list(flat)
        out += [f"<h3>Evaluation, prior {H.esc(prior)} ({H.esc(res.get('count', '?'))} generated)</h3>",
                H.table(["row", *cols], [[n, *[flat[n].get(c, "") for c in cols]] for n in names],
                        ref_rows={i for i, n in enumerate(names) if n != "generated"})]
    return out


def write_report(run_dir: str | Path, out: str | Path | None = None, *, device: str = "cpu",
                 data: str | None = None, seed: int | None = None, examples=None) -> Path:
    """Write ``out`` (default ``RUN/report``)``/index.html`` for one run; returns the page's path.

    ``examples``: ``(test, train)`` lists of the run's prepared examples when the caller has them
    (``seqgen train``); otherwise they are loaded from the run's data (``data`` or data.json's folder)."""
    t0 = time.perf_counter()
    run = RunDir(run_dir)
    cfg = run.load_config()
    out = Path(out) if out else run.path / "report"
    if out.exists():
        shutil.rmtree(out / "assets", ignore_errors=True)
    assets = _Assets(out)
    body = [f"<h1>seqgen run: {H.esc(cfg.name)}</h1>",
            f'<p class="note">run directory {H.esc(run.path.name)}; prior {H.esc(cfg.prior.type)}, '
            f"autoencoder {H.esc(cfg.autoencoder.type)}, representation {H.esc(cfg.representation.type)}</p>"]
    prov = _read(run.data)
    if prov:
        where = str(prov.get("where", ""))  # "<root> (how it was found)": the folder's name is enough here
        prov = {**{k: v for k, v in prov.items() if k not in ("root", "where")},
                "where": f"{Path(str(prov.get('root', ''))).name} {where[where.rfind('('):] if '(' in where else ''}"}
        body += ["<h2>Data</h2>", H.kv_table(prov)]
    curves = _curves(run, assets)
    if curves:
        body += ["<h2>Training curves</h2>", *(h for _, h in curves)]
    for title, rows in _items(run, assets, device=device, data=data, seed=seed, examples=examples):
        body += [f"<h2>{H.esc(title)}</h2>", "<div>", *(h for _, h in rows), "</div>"]
    body += ["<h2>Metrics</h2>", *metric_tables(run)]
    body += ["<h2>Config</h2>", "<details><summary>resolved config.json</summary><pre>",
             H.esc(run.config.read_text()), "</pre></details>"]
    page = out / "index.html"
    with atomic_write(page, "w") as f:
        f.write(H.page(f"seqgen: {cfg.name}", body))
    log.info("report: %s (%.1f s)", page, time.perf_counter() - t0)
    return page


# ---------------------------------------------------------------------------------------------- several runs
def write_comparison(run_dirs: list[str | Path], out: str | Path, *, device: str = "cpu",
                     data: str | None = None, seed: int | None = None) -> Path:
    """One page with several runs in columns: the same media item and metric in one row."""
    if len(run_dirs) < 2:
        raise SeqgenError("a comparison needs at least two run directories")
    out = Path(out)
    shutil.rmtree(out / "assets", ignore_errors=True)
    runs = [RunDir(r) for r in run_dirs]
    names = [f"{i}_{r.path.name}" for i, r in enumerate(runs)]
    per_run = [_items(r, _Assets(out, n), device=device, data=data, seed=seed) for r, n in zip(runs, names)]
    body = [f"<h1>seqgen: {len(runs)} runs compared</h1>"]
    header = ["", *[f"{r.load_config().name} ({r.path.name})" for r in runs]]
    for r, n, sec in zip(runs, names, per_run):
        sec.insert(0, ("Training curves", _curves(r, _Assets(out, n))))
    titles = list(dict.fromkeys(t for sec in per_run for t, _ in sec))
    for title in titles:
        cells = [next((dict(rows) for t, rows in sec if t == title), {}) for sec in per_run]
        keys = list(dict.fromkeys(k for c in cells for k in c))
        body += [f"<h2>{H.esc(title)}</h2>",
                 H.table(header, [[k, *[c.get(k, H.Markup("")) for c in cells]] for k in keys])]
    flat = [H.flatten({k: v for k, v in r.read_metrics().items() if k in ("autoencoder_test", "generation", "priors")})
            for r in runs]
    for r, f in zip(runs, flat):
        for prior, res in _read(r.path / "eval.json").items():
            if isinstance(res, dict) and isinstance(res.get("rows"), dict):
                f.update(H.flatten(res["rows"], f"eval.{prior}."))
    keys = [k for k in dict.fromkeys(k for f in flat for k in f) if not any(isinstance(f.get(k), list) for f in flat)]
    body += ["<h2>Metrics</h2>", H.table(["metric", *header[1:]], [[k, *[f.get(k, "") for f in flat]] for k in keys],
                                         ref_rows={i for i, k in enumerate(keys) if ".real_" in k or ".ae_" in k})]
    page = out / "index.html"
    with atomic_write(page, "w") as fh:
        fh.write(H.page("seqgen: comparison", body))
    return page
