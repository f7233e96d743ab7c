"""Render README tables from benchmark results (``benchmarks/results/*.json``) and run directories.

    python benchmarks/render.py            # rewrite every marked table in README.md and benchmarks/README.md
    python benchmarks/render.py --check    # exit 1 if a marked table differs from what its source renders

A table lives between ``<!-- table:KEY -->`` and ``<!-- /table -->``. ``KEY`` is a results file name
without ``.json`` (``hmm_backends``, ``generation_quick``, ...), a JSON file's path in the repository
(``recipes/lmgae_synthetic/sweep.json``), ``run:PATH`` for a run directory's ``metrics.json`` / ``eval.json``
(PATH relative to the repository), or ``eval:PATH`` for a committed ``seqgen eval --compare`` result (an
``eval.json``). A table whose source is absent (run
directories are not committed) is left as it is and reported as skipped. ``tests/test_benchmark_tables.py``
runs the check in the default test suite, so a README number cannot drift from its measurement.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DOCS = ("README.md", "benchmarks/README.md", "recipes/spoken_digits/README.md", "recipes/lmgae_synthetic/README.md",
        "recipes/led_2d/README.md", "recipes/led_mnist/README.md")
MARKER = re.compile(r"(?P<open><!-- table:(?P<key>\S+) -->\n)(?P<body>.*?)(?P<close><!-- /table -->)", re.S)


def _f(x, digits=3) -> str:
    if x is None:
        return "–"
    if isinstance(x, str):
        return x
    return f"{x:.{digits}g}" if abs(x) < 10 ** digits else f"{x:,.0f}"


def _table(head: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _footer(doc: dict) -> str:
    m = doc["meta"]
    where = f"GPU {m['gpu']}" if m.get("gpu") else "no GPU"
    return (f"\n\n_{m['date']}, {m['host']}, {m['cpus']} CPUs ({where}), load average {m['load_average']} at the "
            f"start{', `--quick` sizes' if m.get('quick') else ''}; the machine was shared with other jobs._")


def hmm_backends(doc: dict) -> str:
    rows = [[r["backend"], r["covariance"], r["states"], r["dim"], r["frames"], f"{r['threads']}{' (default)' if r.get('default_threads') else ''}",
             _f(r["sec"]), f"**{_f(r['x_hmmlearn'])}×**" if r["backend"] == "torch" else "1", _f(r["gflops"]),
             f"{r['score']:.6f}", f"{r['rel_diff_loglik']:.1e}"] for r in doc["rows"]]
    head = ["backend", "covariance", "K", "D", "frames", "threads", "s / EM iter", "× hmmlearn", "GFLOP/s",
            "final log-lik / frame", "rel. diff"]
    return _table(head, rows) + _footer(doc)


def hmm_em_parts(doc: dict) -> str:
    parts = [r for r in doc["rows"] if r["kind"] == "part"]
    rows = [[r["part"], r["threads"], f"{r['sec']:.3f}", f"{100 * r['share']:.0f} %", f"{r['gflop']:.2f}",
             f"{r['gflops']:.1f}" if r["gflop"] else "–"] for r in parts]
    out = _table(["part of one EM iteration", "threads", "s", "share", "GFLOP", "GFLOP/s"], rows)
    ratio = [[r["backend"], r["threads"], f"{r['sec']:.3g}", f"**{r['x_hmmlearn']:.3g}×**", f"{r['gflops']:.3g}",
              f"{r['score']:.6f}", f"{r['rel_diff_loglik']:.1e}"] for r in doc["rows"] if r["kind"] == "ratio"]
    out += "\n\n" + _table(["backend (diag)", "threads", "s / EM iter", "× hmmlearn", "GFLOP/s", "final log-lik / frame",
                             "rel. diff"], ratio)
    ex = [r for r in doc["rows"] if r["kind"] == "exp"]
    if ex:
        out += "\n\n" + _table(["scaled emissions b = exp(log b − max) (default threads)", "s per E-step",
                                 "max abs. difference"], [[r["way"], f"{r['sec']:.3f}", f"{r['max_abs_diff']:.1e}"]
                                                          for r in ex])
    if parts:
        p = parts[0]
        out += f"\n\n(K = {p['states']}, D = {p['dim']}, {p['frames']} frames; median of 3 passes per part)"
    return out + _footer(doc)


def ae_throughput(doc: dict) -> str:
    rows = [[r["what"], r["batch_frames"], _f(r["frames_per_s"]), _f(r["x_realtime"])] for r in doc["rows"]]
    return _table(["stage", "frames per batch", "frames / s", "× real time"], rows) + _footer(doc)


def ae_engine(doc: dict) -> str:
    rows = [[r["engine"], r["threads"], _f(r["frames_per_s"]), f"**{r['speedup']:.2f}×**", f"{r['epoch_s']:.1f}",
             f"{r['train_loss']:.4f}", f"{r['test_snr_db']:.2f} dB", f"{r['snr_diff_db']:+.2f} dB"] for r in doc["rows"]]
    r0 = doc["rows"][0]
    return (_table(["engine", "threads", "train frames / s (interleaved)", "speed-up", "epoch s", "train loss",
                    "test SNR", "Δ SNR"], rows)
            + f"\n\n({r0['n_train']} FSDD training utterances, {r0['epochs']} epochs from seed 0, SNR on "
              f"{r0['n_test']} test utterances)" + _footer(doc))


def omp_wait(doc: dict) -> str:
    rows = [[f"`OMP_WAIT_POLICY` {r['policy']}", f"{r['threads']}{' (default)' if r['default_threads'] else ''}",
             _f(r["frames_per_s"]), " / ".join(_f(x) for x in r["runs"]), f"**{r['speedup']:.2f}×**"]
            for r in doc["rows"]]
    return (_table(["OpenMP wait policy", "threads", "train frames / s (mean)", "runs", "× default"], rows)
            + "\n\n(the recipe's codec and loss, 60 FSDD utterances; one fresh process per run, policies alternating)"
            + _footer(doc))


def large_corpus(doc: dict) -> str:
    rows, t = [], lambda r, k: f"{r['timings_s'].get(k, 0):.0f}"
    for r in doc["rows"]:
        rows.append([f"{r['code']} (`{r['rev']}`)", f"{t(r, 'data')} / {t(r, 'autoencoder')} / {t(r, 'encode')} / "
                     f"{t(r, 'prior')} / {t(r, 'report')}", f"{r['wall_s']:.0f}", f"{r['peak_rss_mb']:,.0f} MB",
                     f"**{r['peak_anon_mb']:,.0f} MB**", f"{r['peak_file_mb']:,.0f} MB", f"{r['snr_db']:.2f} dB"])
    r0 = doc["rows"][0]
    out = _table(["code", "s: data / codec / encode / prior / report", "wall s", "peak RSS", "peak anonymous",
                  "peak file-backed", "test SNR"], rows)
    out += (f"\n\n({r0['hours']:.2f} h of audio: {r0['train_frames']:,} train + {r0['test_frames']:,} test frames of "
            f"800 samples; `{' '.join(r0['overrides'])}`; latents.npz {r0['latents_mb']:.0f} MB)")
    if len(doc["rows"]) > 1:
        b = doc["rows"][1]
        out += (f"\n\nPeak anonymous memory: {b['peak_anon_mb'] / r0['peak_anon_mb']:.1f}× less than the baseline's; "
                f"peak RSS {b['peak_rss_mb'] / r0['peak_rss_mb']:.1f}× less.")
    return out + _footer(doc)


def generation(doc: dict) -> str:
    runs = [r for r in doc["rows"] if "part" not in r]
    rows = [[f"{r['seconds']:.0f} s", f"{r['wall_s']:.2f} s", f"{r['x_realtime']:.0f}×", f"{r['peak_rss_mb']:.0f} MB"]
            for r in runs]
    run = runs[0]["run"] if runs else "?"
    out = _table(["output", "wall", "× real time", "peak RSS"], rows) + f"\n\n(run `{run}`)"
    parts = [r for r in doc["rows"] if "part" in r]
    if parts:
        out += ("\n\n" + _table(["600 s stream, part (cProfile)", "s", "share"],
                                 [[r["part"], f"{r['sec']:.2f}", f"{100 * r['share']:.0f} %"] for r in parts])
                + f"\n\n(profiled wall {parts[0]['profiled_wall_s']:.2f} s, cProfile's overhead included)")
    return out + _footer(doc)


def ddp(doc: dict) -> str:
    rows = [[r["processes"], f"{r['epoch_s']:.2f}", _f(r["frames_per_s"]), f"{r['speedup']:.2f}×",
             f"{r['train_loss']:.4f}"] for r in doc["rows"]]
    return _table(["processes", "epoch s", "frames / s", "speed-up", "train loss"], rows) + _footer(doc)


def run_table(run: Path) -> str | None:
    """A run directory's headline numbers (metrics.json, and eval.json when present)."""
    if not (run / "metrics.json").exists():
        return None
    m = json.loads((run / "metrics.json").read_text())
    hist = m.get("autoencoder_history", {})
    prior = m.get("priors", {}).get("default", {})
    ae = m.get("autoencoder_test", {})
    rows = [["processes (world size)", m.get("world_size", 1)],
            ["autoencoder epochs", len(hist.get("epoch", []))],
            ["final train loss", _f(hist["train_loss"][-1], 4) if hist.get("train_loss") else "–"],
            ["autoencoder test SNR", f"{ae['snr_db']:.2f} dB" if "snr_db" in ae else "–"],
            ["prior", prior.get("type", "–")],
            ["prior log-lik / frame (train / test)",
             f"{prior['train_ll_per_frame']:.2f} / {prior['test_ll_per_frame']:.2f}" if prior else "–"]]
    if (run / "eval.json").exists():  # one entry per prior label; the recipe's own prior is "default"
        gen = json.loads((run / "eval.json").read_text()).get("default", {}).get("rows", {}).get("generated", {})
        rows += [[label, _f(gen[k])] for label, k in (("generated IS", "inception_score"),
                                                     ("generated FID (test)", "fid_test")) if gen.get(k) is not None]
    return _table(["", run.name], rows)


def lmgae_sweep(doc: dict) -> str:
    """LMGAE vs WAE-GP per true d and capacity n (recipes/lmgae_synthetic/sweep.json)."""
    by = {(r["d"], r["n"], r["method"]): r for r in doc["rows"]}
    rows = []
    for d, n in sorted({(r["d"], r["n"]) for r in doc["rows"]}):
        lm, wae = by.get((d, n, "lmgae"), {}), by.get((d, n, "wae_gp"), {})
        rows.append([d, n, lm.get("active_dims", "–"), _f(lm.get("fd_test")), _f(wae.get("fd_test")),
                     _f(lm.get("fd_floor", wae.get("fd_floor")))])
    s = doc["seeds"]
    steps = sorted({r["steps"] for r in doc["rows"]})
    return (_table(["true d", "capacity n", "LMGAE active dims", "LMGAE FD", "WAE-GP FD", "FD train vs test"], rows)
            + f"\n\nFD: Fréchet distance to the held-out vectors (lower is better); {', '.join(map(str, steps))} "
              f"steps per run; seeds: run {s['seed']}, network {s['network_seed']}, data {s['data_seed']}."
            + _footer(doc))


def lmgae_priors(doc: dict) -> str:
    """Priors fitted on one LMGAE run's active dimensions (recipes/lmgae_synthetic/priors.json)."""
    rows = [[f"`{r['prior']}`", r["type"] or "–", r["dims"], _f(r["test_ll_per_dim"]), _f(r["fd_test"])]
            for r in doc["rows"]]
    return (_table(["prior", "type", "dims", "test log-lik / dim", "FD to test"], rows)
            + f"\n\n(run `{doc['run']}`, seed {doc['seed']}; FD train vs test: {_f(doc['fd_floor'])})" + _footer(doc))


def led_2d(doc: dict) -> str:
    """LED's Table 1 setting: modes captured and % high-quality samples (mean ± std over seeds), next to the
    paper's numbers; then the single-seed sensitivity and learned-prior rows."""
    def pm(r, k, d=1):
        return f"{r[k]['mean']:.{d}f} ± {r[k]['std']:.{d}f}"

    paper = doc["paper"]
    rows = [[r["what"], r["variant"], pm(r, "modes"), pm(r, "hq_percent"), pm(r, "test_log_likelihood", 2),
             pm(r, "integral", 3), pm(r, "train_seconds", 0),
             " / ".join(f"{m}: {v[0]:g}, {v[1]:g} %" for m, v in paper[r["what"]].items())] for r in doc["rows"]]
    main = _table(["data", "model", "modes", "HQ %", "held-out log-lik (nats)", "∫ density", "train s",
                   "paper (modes, HQ %)"], rows)
    extra = [[r["what"], r["variant"], r["modes"], f"{r['hq_percent']:.1f}",
              f"{r['integral']:.3f}" if "integral" in r else "–",
              f"{r['kl_generator_to_discriminator']:.2f}"] for r in doc.get("extras", [])]
    out = main + f"\n\n{doc['meta']['seeds']} seeds, {doc['meta']['generated_points']:,} generated points each."
    if extra:
        out += "\n\n" + _table(["data", "variant (seed 0)", "modes", "HQ %", "∫ density", "KL(P_G ‖ N/Z) est."], extra)
    return out + _footer(doc)


def led_mnist(doc: dict) -> str:
    """LED on MNIST 32×32: bits per pixel (real, generated under both densities) and FID, next to the paper."""
    r, p = doc["rows"][0], doc["paper"]
    rows = [["held-out images, discriminator density", f"{r['test_bits_per_dim']:.3f} b/p", f"≈ {p['bits_per_dim_real']:g} b/p"],
            ["generated images, generator's tracked density", f"{r['generated_bits_per_dim_generator']:.3f} b/p", "–"],
            ["generated images, discriminator density", f"{r['generated_bits_per_dim_discriminator']:.3f} b/p", "–"],
            ["FID (digit-classifier features, vs test)", _f(r["fid_test"]), f"{p['fid']:g} (its own protocol)"],
            ["FID train vs test (floor)", _f(r["fid_train_vs_test"]), "–"],
            ["IS (digit classifier)", _f(r["inception_score"]), "–"]]
    return (_table(["measure", f"led_mnist ({r['epochs']} epochs, {r['n']:,} images)", "paper"], rows)
            + _footer(doc))


def eval_compare(path: Path) -> str | None:
    """A ``seqgen eval --compare`` result (an ``eval.json`` copied into a recipe folder): one row per
    prior label (generated clips), then the real test split and its AE reconstruction once."""
    if not path.exists():
        return None
    doc = json.loads(path.read_text())
    pct = lambda x: "–" if x is None else f"{x:.1%}"  # noqa: E731

    def cells(row: dict, ll=None, label_acc=None) -> list:
        v = row.get("voicing") or {}
        f0 = "–" if v.get("f0_median_hz") is None else \
            f"{v['f0_median_hz']:.0f} ({v['f0_p10_hz']:.0f}–{v['f0_p90_hz']:.0f})"
        return [_f(row["inception_score"]), _f(row["fid_test"], 4) if row.get("fid_test") is not None else "–",
                _f(row["am_score"]), row["ndb"], row["digits_covered"], pct(row.get("near_silent_fraction")),
                pct(v.get("voiced_fraction")), f0, "–" if ll is None else f"{ll:.1f}",
                "–" if label_acc is None else f"{label_acc:.1%}"]

    rows, ref = [], None
    for label, r in doc.items():
        acc = r.get("label_accuracy", {}).get("mean")
        rows.append([f"`{label}` ({r['prior_type']}), T = {r['temperature']:g}",
                     *cells(r["rows"]["generated"], r["prior_test_ll_per_frame"], acc)])
        ref = ref or (r if "real_test" in r["rows"] else None)
    if ref is not None:
        rows.append(["*real test split*", *cells(ref["rows"]["real_test"])])
        if "ae_reconstruction" in ref["rows"]:
            rows.append(["*AE reconstruction of the test split*", *cells(ref["rows"]["ae_reconstruction"])])
    head = ["rows (N generated / 300 real)", "IS ↑", "FID test ↓", "AM ↓", "NDB/20 ↓", "digits", "near-silent",
            "voiced", "f0 Hz median (p10–p90)", "held-out nats/frame", "`--label` recognised"]
    return _table(head, rows)


TABLES = {"hmm_backends": hmm_backends, "ae_throughput": ae_throughput, "ae_engine": ae_engine, "omp_wait": omp_wait,
          "large_corpus": large_corpus, "generation": generation, "ddp": ddp,
          "lmgae_sweep": lmgae_sweep, "lmgae_priors": lmgae_priors, "led_2d": led_2d, "led_mnist": led_mnist}


TABLES["hmm_em_parts"] = hmm_em_parts


def render_key(key: str, root: Path = REPO) -> str | None:
    """The table ``key`` names, or None when its source does not exist."""
    if key.startswith("run:"):
        return run_table(root / key[4:])
    if key.startswith("eval:"):
        return eval_compare(root / key[5:])
    path = root / key if key.endswith(".json") else root / "benchmarks" / "results" / f"{key}.json"
    if not path.exists():
        return None
    doc = json.loads(path.read_text())
    return TABLES[doc["name"]](doc)


def update_text(text: str, root: Path = REPO) -> tuple[str, list[str], list[str]]:
    """``text`` with every marked table re-rendered: ``(new_text, changed keys, skipped keys)``."""
    changed, skipped = [], []

    def sub(m):
        table = render_key(m["key"], root)
        if table is None:
            skipped.append(m["key"])
            return m[0]
        body = table.rstrip("\n") + "\n"
        if body != m["body"]:
            changed.append(m["key"])
        return m["open"] + body + m["close"]

    return MARKER.sub(sub, text), changed, skipped


def check(root: Path = REPO, docs=DOCS) -> list[str]:
    """``FILE: KEY`` for every marked table that differs from what its source renders."""
    out = []
    for doc in docs:
        path = root / doc
        if path.exists():
            _, changed, _ = update_text(path.read_text(), root)
            out += [f"{doc}: {k}" for k in changed]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="report differences, change nothing (exit 1 if any)")
    ap.add_argument("docs", nargs="*", default=list(DOCS), help="markdown files, relative to the repository")
    args = ap.parse_args(argv)
    bad = 0
    for doc in args.docs:
        path = REPO / doc
        text = path.read_text()
        new, changed, skipped = update_text(text, REPO)
        for k in skipped:
            print(f"{doc}: {k}: source missing, left as it is")
        for k in changed:
            print(f"{doc}: {k}: {'differs' if args.check else 'updated'}")
        bad += len(changed)
        if changed and not args.check:
            path.write_text(new)
    return 1 if (args.check and bad) else 0


if __name__ == "__main__":
    sys.exit(main())
