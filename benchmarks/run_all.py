"""Run seqgen's benchmarks side by side, print their tables and write them to ``benchmarks/results/*.json``.

    python benchmarks/run_all.py --quick                       # minutes on a 2-core CPU
    python benchmarks/run_all.py --run runs/spoken_digits      # the sizes of the issue (HMM K=300, D=80, 25k frames)
    python benchmarks/run_all.py --only hmm_backends,ddp --quick

Sections (each one JSON file, rendered into README tables by ``benchmarks/render.py``):

* ``hmm_backends``: torch vs hmmlearn EM, diagonal and full covariances, s / iteration, ratio, GFLOP/s;
* ``hmm_em_parts``: one diagonal EM iteration of the torch backend part by part (``hmm_em_parts.py``: emission,
  forward, backward + posteriors, statistics, M-step; s and GFLOP/s), default threads and one thread, beside
  torch vs hmmlearn s / iteration at default threads in the same run;
* ``ae_throughput``: the recipe's codec (synthetic frames): training, encoding and decoding frames / s;
* ``ae_engine``: the codec training engine before / after its speed-ups and with bf16 autocast, on real FSDD
  frames: step throughput measured interleaved (rounds in rotating order), then a short training of each
  from the same seed with its test SNR;
* ``omp_wait``: codec training steps with torch's default threads under OpenMP's default (spinning) wait
  policy vs ``OMP_WAIT_POLICY=PASSIVE`` (what the ``seqgen`` command sets), and one thread; fresh processes,
  alternating;
* ``large_corpus``: ``train`` of ``recipes/audio_folder`` (one codec epoch) on hours of audio (FSDD and the
  violin recordings looped into a temporary folder): stage times and peak memory, anonymous and file-backed
  (a fresh process; with ``--baseline DIR`` another checkout's code on the same corpus, side by side);
* ``generation``: streamed generation of 10 s and 600 s from a run directory: wall time, real-time factor,
  peak RSS (each length in a fresh process), then the 600 s stream under cProfile, part by part;
* ``ddp``: one epoch of codec training in 1 and 2 processes (gloo, CPU, 1 thread each).

Every file records the host, CPU count, torch threads and the load average: on a shared machine the
numbers of one run are comparable with each other, not with another day's.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the seqgen command sets it (section omp_wait: why)
HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
SECTIONS = ("hmm_backends", "hmm_em_parts", "ae_throughput", "ae_engine", "omp_wait", "large_corpus", "generation", "ddp")
sys.path.insert(0, str(HERE))


def meta(quick: bool) -> dict:
    import torch

    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "quick": quick,
            "host": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "load_average": round(os.getloadavg()[0], 2),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


# --------------------------------------------------------------------------- HMM backends
def hmm_backends(args) -> list[dict]:
    """torch vs hmmlearn on the same synthetic data and init (``hmm_backends.py``), diag and full."""
    import hmm_backends as hb

    if args.quick:
        cases = [("diag", 50, 20, 5000, 3, 1), ("full", 20, 16, 3000, 2, 1)]
    else:  # the sizes: default threads for diag (as asked), one thread as well; full one thread
        cases = [("diag", 300, 80, 25_000, 3, 0), ("diag", 300, 80, 25_000, 3, 1), ("full", 300, 80, 25_000, 1, 1)]
    rows = []
    for cov, K, D, N, iters, threads in cases:
        ns = argparse.Namespace(latents=None, states=K, iters=iters, backends="torch,hmmlearn", covariance=cov,
                                dim=D, frames=N, seq_len=100, seed=0, threads=threads)
        got = hb.run_limited(ns)
        ref = next(r for r in got if r["backend"] == "hmmlearn")
        for r in got:
            rows.append({k: r[k] for k in ("backend", "covariance", "states", "dim", "frames", "threads", "iters",
                                           "sec", "gflops", "score", "load")}
                        | {"x_hmmlearn": ref["sec"] / r["sec"], "default_threads": not threads,
                           "rel_diff_loglik": abs(r["score"] - ref["score"]) / abs(ref["score"])})
    return rows


def hmm_em_parts(args) -> list[dict]:
    """Per-part seconds of one torch diag EM iteration (default threads, then one), then torch vs hmmlearn."""
    import torch
    from threadpoolctl import threadpool_limits

    import hmm_backends as hb
    from hmm_em_parts import em_parts, exp_paths

    K, D, N, iters = (50, 20, 5000, 2) if args.quick else (300, 80, 25_000, 2)
    rows = [r | {"kind": "part"} for r in em_parts(K, D, N)]
    ex = exp_paths(K, D, N)  # the E-step change, side by side: the same values, the time of computing them
    rows += [{"kind": "exp", "way": k, "sec": v, "max_abs_diff": ex["max_abs_diff"]} for k, v in ex["sec"].items()]
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            rows += [r | {"kind": "part"} for r in em_parts(K, D, N)]
    finally:
        torch.set_num_threads(n)
    ns = argparse.Namespace(latents=None, states=K, iters=iters, backends="torch,hmmlearn", covariance="diag", dim=D,
                            frames=N, seq_len=100, seed=0, threads=0)
    got = hb.run_limited(ns)
    ref = next(r for r in got if r["backend"] == "hmmlearn")
    rows += [{k: r[k] for k in ("backend", "states", "dim", "frames", "threads", "iters", "sec", "gflops", "score",
                                "load")} | {"kind": "ratio", "x_hmmlearn": ref["sec"] / r["sec"],
                                            "rel_diff_loglik": abs(r["score"] - ref["score"]) / abs(ref["score"])}
             for r in got]
    return rows


# --------------------------------------------------------------------------- codec throughput
def _recipe_codec(overrides=()):
    from seqgen.config import load_recipe
    from seqgen.pipeline.build import build_autoencoder, build_objective, build_representation

    cfg = load_recipe(REPO / "recipes" / "spoken_digits", list(overrides))
    rep = build_representation(cfg)
    codec = build_autoencoder(cfg, rep)
    return cfg, rep, codec, build_objective(cfg, codec, rep)


def _frames(n: int, N: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.3 * rng.standard_normal((n, N)) * np.hanning(N)).astype(np.float32)


def ae_throughput(args) -> list[dict]:
    """Frames / s of training steps (recipe batch: 8 segments x 8 frames), encoding and decoding."""
    import torch

    from seqgen.training.loop import segments

    torch.manual_seed(0)
    cfg, rep, codec, objective = _recipe_codec()
    N = rep.spec.frame_length
    n_frames = 512 if args.quick else 4096
    units = torch.as_tensor(_frames(n_frames, N))
    opt = objective.configure(cfg.train.lr)
    idx = torch.as_tensor(segments(np.array([n_frames]), cfg.train.segment_frames, None))
    B = cfg.train.batch_size
    rows = []
    codec.train()
    steps = 4 if args.quick else 16
    objective.step(idx[:B], units, opt)  # warm-up
    t0 = time.perf_counter()
    for s in range(steps):
        objective.step(idx[(s * B) % len(idx):][:B], units, opt)
    dt = time.perf_counter() - t0
    rows.append({"what": "train step (forward + backward + Adam)", "frames_per_s": steps * B * idx.shape[1] / dt,
                 "batch_frames": B * idx.shape[1]})
    codec.eval()
    with torch.no_grad():
        for what, fn, x in (("encode", codec.encode, units), ("decode", codec.decode, codec.encode(units))):
            fn(x[:64])
            t0 = time.perf_counter()
            reps = 2 if args.quick else 5
            for _ in range(reps):
                fn(x)
            dt = time.perf_counter() - t0
            rows.append({"what": what, "frames_per_s": reps * len(x) / dt, "batch_frames": len(x)})
    hop_s = rep.spec.hop / rep.sample_rate
    for r in rows:
        r["x_realtime"] = r["frames_per_s"] * hop_s
    return rows


# --------------------------------------------------------------------------- codec training engines
ENGINES = {  # name -> (previous engine's transposed convs?, amp, initial weights moved by one ulp?)
    "previous (library transposed convs)": (True, None, False),
    "previous, initial weights ±1 ulp (control)": (True, None, True),
    "polyphase last layer (default)": (False, None, False),
    "polyphase + bf16 autocast (--amp bf16)": (False, "bf16", False),
}


def _ulp_nudge(codec, seed: int = 1) -> None:
    """Move every initial weight by one float32 ulp, up or down at random: a difference of the size float
    reassociation makes, to show how far such a difference alone carries a training run."""
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in codec.parameters():
            up = torch.rand(p.shape, generator=g) < 0.5
            p.copy_(torch.nextafter(p, torch.where(up, torch.inf, -torch.inf)))


def _fsdd_units(args, n_train: int | None, n_test: int | None):
    from seqgen.pipeline.build import make_dataset
    from seqgen.pipeline.examples import load_split, to_units

    cfg, rep, _, _ = _recipe_codec()
    dataset, _ = make_dataset(cfg, args.data)
    split = {s: to_units(rep, load_split(rep, dataset, s, progress=False)[:n])
             for s, n in (("train", n_train), ("test", n_test))}
    return split["train"], split["test"]


def ae_engine(args) -> list[dict]:
    """Codec training engines side by side on real FSDD frames (the recipe's codec, loss and batch shape).

    The control row trains the previous engine from initial weights one ulp away: its SNR difference is
    what a last-bit difference (the size float reassociation makes) alone does to a training run."""
    import contextlib

    import torch

    from seqgen.codecs.audio.polyphase import library_transposed_convs
    from seqgen.training.loop import TrainData, segments, train_codec

    torch.set_num_threads(1)
    train, test = _fsdd_units(args, 120 if args.quick else 1200, 40 if args.quick else None)
    data = TrainData.stack(train, "cpu")
    rng = np.random.default_rng(0)
    idx = segments(data.lengths, 8, rng)
    idx = torch.as_tensor(idx[rng.permutation(len(idx))])

    def make(name):
        _, amp, nudge = ENGINES[name]
        torch.manual_seed(0)
        cfg, rep, codec, objective = _recipe_codec([f'train.amp="{amp}"'] if amp else [])
        if nudge:
            _ulp_nudge(codec)
        return cfg, codec, objective, objective.configure(cfg.train.lr)

    names = list(ENGINES)
    models = {n: make(n) for n in names}
    engine = {n: (library_transposed_convs if ENGINES[n][0] else contextlib.nullcontext) for n in names}
    B = models[names[0]][0].train.batch_size
    k, rounds = (3, 3) if args.quick else (5, 12)
    sec = {n: 0.0 for n in names}
    frames = {n: 0 for n in names}
    for r in range(rounds):  # every round runs each engine on the same k batches, the order rotating
        rows = idx[(r * k * B) % len(idx):][: k * B]
        for n in names[r % len(names):] + names[: r % len(names)]:
            _, _, objective, opt = models[n]
            with engine[n]():
                t0 = time.perf_counter()
                for b in range(0, len(rows), B):
                    objective.step(rows[b : b + B], data.units, opt)
                sec[n] += time.perf_counter() - t0
            frames[n] += int((rows >= 0).sum())
    epochs = 1 if args.quick else 6
    out = []
    for n in names:
        cfg, codec, objective, _ = make(n)
        with engine[n]():
            h = train_codec(codec, objective, train, valid_seqs=test, epochs=epochs, batch_size=B,
                            segment_units=cfg.train.segment_frames, lr=cfg.train.lr, seed=0, progress=False)
        print(f"  {n}: test SNR {h['valid_snr_db'][-1]:.2f} dB, {np.mean(h['time_s']):.1f} s / epoch", flush=True)
        out.append({"engine": n, "threads": 1, "frames_per_s": frames[n] / sec[n], "epochs": epochs,
                    "epoch_s": float(np.mean(h["time_s"])), "train_loss": h["train_loss"][-1],
                    "test_snr_db": h["valid_snr_db"][-1], "n_train": len(train), "n_test": len(test)})
    for r in out:
        r["speedup"] = r["frames_per_s"] / out[0]["frames_per_s"]
        r["snr_diff_db"] = r["test_snr_db"] - out[0]["test_snr_db"]
    return out


# --------------------------------------------------------------------------- OpenMP wait policy
OMP_CHILD = r"""
import json, os, sys, time
import numpy as np, torch
sys.path.insert(0, sys.argv[1])
from run_all import _fsdd_units, _recipe_codec
from seqgen.training.loop import TrainData, segments
import argparse
threads, steps = int(sys.argv[2]), int(sys.argv[3])
if threads:
    torch.set_num_threads(threads)
train, _ = _fsdd_units(argparse.Namespace(data=sys.argv[4] or None), 60, 1)
data = TrainData.stack(train, "cpu")
rng = np.random.default_rng(0)
idx = segments(data.lengths, 8, rng)
idx = torch.as_tensor(idx[rng.permutation(len(idx))])
torch.manual_seed(0)
cfg, _, _, objective = _recipe_codec()
opt = objective.configure(cfg.train.lr)
B = cfg.train.batch_size
for b in range(0, 2 * B, B):
    objective.step(idx[b : b + B], data.units, opt)
t0, frames = time.perf_counter(), 0
for b in range(2 * B, (2 + steps) * B, B):
    objective.step(idx[b : b + B], data.units, opt)
    frames += int((idx[b : b + B] >= 0).sum())
print(json.dumps({"frames_per_s": frames / (time.perf_counter() - t0), "threads": torch.get_num_threads()}))
"""


def omp_wait(args) -> list[dict]:
    """Training steps per OpenMP wait policy and thread count, each in a fresh process, alternating."""
    cases = [("default (spin)", None, 0), ("PASSIVE", "PASSIVE", 0), ("default (spin)", None, 1)]
    steps, rounds = (6, 1) if args.quick else (12, 2)
    got = {i: [] for i in range(len(cases))}
    for r in range(rounds):
        for i, (_, policy, threads) in enumerate(cases):
            env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
            if policy:
                env["OMP_WAIT_POLICY"] = policy
            out = subprocess.run([sys.executable, "-c", OMP_CHILD, str(HERE), str(threads), str(steps), args.data or ""],
                                 env=env, check=True, capture_output=True, text=True, cwd=REPO).stdout
            got[i].append(json.loads(out.strip().splitlines()[-1]))
    rows = [{"policy": name, "threads": got[i][0]["threads"], "default_threads": not threads,
             "frames_per_s": float(np.mean([g["frames_per_s"] for g in got[i]])),
             "runs": [g["frames_per_s"] for g in got[i]]} for i, (name, _, threads) in enumerate(cases)]
    for r in rows:
        r["speedup"] = r["frames_per_s"] / rows[0]["frames_per_s"]
    return rows


# --------------------------------------------------------------------------- large corpus
LARGE_CHILD = r"""
import sys, torch
from seqgen.config import load_recipe
from seqgen.pipeline.train import train
torch.set_num_threads(int(sys.argv[3]))
cfg = load_recipe("recipes/audio_folder", sys.argv[4:])
train(cfg, sys.argv[2], data=sys.argv[1], progress=False, generate_examples=1)
"""


def _status_kb(pid: int) -> dict:
    """The resident-memory fields of ``/proc/PID/status`` in kB (anonymous, file-backed, total)."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                out[k] = int(v.split()[0])
    return out


def _train_sampled(source: Path, folder: Path, out: Path, threads: int, overrides: list[str]) -> dict:
    """``train`` of recipes/audio_folder in a child process running the code in ``source``; its resident
    memory sampled every 0.1 s: peak anonymous memory (what must stay in RAM) and peak file-backed pages
    (memory maps and the page cache the kernel may drop under pressure)."""
    import threading

    env = {**os.environ, "PYTHONPATH": str(source), "MPLBACKEND": "Agg"}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", LARGE_CHILD, str(folder), str(out), str(threads), *overrides],
                            cwd=source, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = {"VmRSS": 0, "RssAnon": 0, "RssFile": 0, "VmHWM": 0}

    def sample():
        while proc.poll() is None:
            try:
                for k, v in _status_kb(proc.pid).items():
                    peak[k] = max(peak[k], v)
            except (OSError, ValueError):
                pass
            time.sleep(0.1)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    err = proc.stderr.read()
    proc.wait()
    th.join()
    if proc.returncode:
        raise SystemExit(f"large_corpus child ({source}) failed:\n{err[-3000:]}")
    m = json.loads((out / "metrics.json").read_text())
    lat = np.load(out / "latents.npz")
    return {"wall_s": time.perf_counter() - t0, "peak_rss_mb": peak["VmHWM"] / 1024,
            "peak_anon_mb": peak["RssAnon"] / 1024, "peak_file_mb": peak["RssFile"] / 1024,
            "timings_s": m["timings_s"], "snr_db": m["autoencoder_test"]["snr_db"],
            "train_frames": int(lat["train_lengths"].sum()), "test_frames": int(lat["test_lengths"].sum()),
            "latents_mb": (out / "latents.npz").stat().st_size / 1e6,
            "prior_test_ll": m["priors"]["default"]["test_ll_per_frame"]}


def large_corpus(args) -> list[dict]:
    """``seqgen train recipes/audio_folder`` (1 codec epoch, 2 EM iterations) on ``--hours`` of audio, by this
    checkout and, with ``--baseline DIR``, by another checkout at the same time (one thread each): stage times
    and peak memory."""
    hours = 0.5 if args.quick else args.hours
    overrides = ["train.epochs=1", "prior.n_iter=2"]
    sources = [("this checkout", REPO)] + ([("baseline", Path(args.baseline).resolve())] if args.baseline else [])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "audio"
        folder.mkdir()
        got = _write_corpus(folder, hours, args.data)
        print(f"  wrote {got:.2f} h of audio", flush=True)
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(len(sources)) as pool:  # side by side: one thread each, the same load on both
            done = list(pool.map(lambda i: _train_sampled(sources[i][1], folder, Path(tmp) / f"run_{i}", 1, overrides),
                                 range(len(sources))))
        for (name, src), r in zip(sources, done):
            rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=src, capture_output=True, text=True)
            rows.append({"code": name, "rev": rev.stdout.strip(), "hours": got, "overrides": overrides,
                         "side_by_side": len(sources) > 1, **r})
            print(f"  {name}: {r['wall_s']:.0f} s, peak RSS {r['peak_rss_mb']:.0f} MB "
                  f"(anonymous {r['peak_anon_mb']:.0f} MB)", flush=True)
    return rows


def _write_corpus(folder: Path, hours: float, data: str | None) -> float:
    """FSDD utterances and the violin recordings at 8 kHz, concatenated in a loop into 10-minute WAV files."""
    import soundfile as sf

    from seqgen.audio.io import load_many
    from seqgen.data.locate import locate

    pieces = []
    for name in ("fsdd", "violin_bach_bwv1002_garner"):
        root, _ = locate(name, lambda p: p.is_dir() and any(p.iterdir()), data=data)
        paths = sorted(p for p in Path(root).rglob("*") if p.suffix.lower() in (".wav", ".flac"))
        pieces += [x for _, x in load_many(paths, 8000)]
    clip = np.concatenate(pieces).astype(np.float32)
    per_file, total = 600 * 8000, int(hours * 3600 * 8000)
    written, i = 0, 0
    while written < total:
        n = min(per_file, total - written)
        idx = (written + np.arange(n)) % len(clip)
        sf.write(folder / f"part_{i:03d}.wav", clip[idx], 8000, subtype="PCM_16")
        written, i = written + n, i + 1
    return written / 8000 / 3600


# --------------------------------------------------------------------------- generation
def generation(args) -> list[dict]:
    """``generation_memory.py``'s child per length (fresh process: ru_maxrss is per process)."""
    from generation_memory import CHILD, profile_stream

    if not args.run:
        print("  generation: no --run RUN_DIR given (a trained run directory is needed): skipped")
        return []
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for s in (10.0, 600.0):
            out = subprocess.run([sys.executable, "-c", CHILD, args.run, str(s), "256", f"{tmp}/o.wav"], check=True,
                                 capture_output=True, text=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            rows.append({"seconds": s, "wall_s": r["wall_s"], "x_realtime": r["x_realtime"],
                         "peak_rss_mb": r["peak_rss_mb"], "run": Path(args.run).name})
        prof = profile_stream(args.run, 600.0, 256, f"{tmp}/p.wav")  # where the 600 s stream's time goes
    rows += [{"part": k, "sec": v, "share": v / prof["wall_s"], "profiled_wall_s": prof["wall_s"]}
             for k, v in prof["parts"].items()]
    return rows


# --------------------------------------------------------------------------- DDP 1 vs 2 processes
def _ddp_worker(rank, world, port, n_seq, out):
    import torch

    from seqgen.training.loop import train_codec

    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank),
                      WORLD_SIZE=str(world))
    torch.manual_seed(0)
    cfg, rep, codec, objective = _recipe_codec()
    seqs = [_frames(40, rep.spec.frame_length, i) for i in range(n_seq)]
    h = train_codec(codec, objective, seqs, epochs=1, batch_size=cfg.train.batch_size,
                    segment_units=cfg.train.segment_frames, lr=cfg.train.lr, seed=0, progress=False)
    if rank == 0:
        Path(out).write_text(json.dumps({"time_s": h["time_s"][0], "loss": h["train_loss"][0],
                                         "frames": 40 * n_seq}))


def ddp(args) -> list[dict]:
    import torch.multiprocessing as mp

    n_seq = 8 if args.quick else 40
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for world in (1, 2):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            out = f"{tmp}/w{world}.json"
            mp.spawn(_ddp_worker, args=(world, port, n_seq, out), nprocs=world, join=True)
            r = json.loads(Path(out).read_text())
            rows.append({"processes": world, "epoch_s": r["time_s"], "frames_per_s": r["frames"] / r["time_s"],
                         "train_loss": r["loss"]})
    for r in rows:
        r["speedup"] = rows[0]["epoch_s"] / r["epoch_s"]
    return rows


# --------------------------------------------------------------------------- main
def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (minutes on a 2-core CPU)")
    ap.add_argument("--data", default=None, help="data folder (FSDD) for ae_engine (default: $SEQGEN_DATA / cache)")
    ap.add_argument("--hours", type=float, default=10.0, help="hours of audio for large_corpus (default 10)")
    ap.add_argument("--baseline", help="another seqgen checkout to run large_corpus with too (side by side)")
    ap.add_argument("--run", help="trained run directory for the generation section (e.g. runs/spoken_digits)")
    ap.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {SECTIONS}")
    ap.add_argument("--out", default=str(RESULTS), help="folder of the JSON files")
    args = ap.parse_args(argv)

    from render import TABLES

    Path(args.out).mkdir(parents=True, exist_ok=True)
    for name in [s.strip() for s in args.only.split(",") if s.strip()]:
        if name not in SECTIONS:
            raise SystemExit(f"unknown section {name!r}; choose from {SECTIONS}")
        print(f"== {name}", flush=True)
        m = meta(args.quick)
        rows = globals()[name](args)
        if not rows:
            continue
        doc = {"name": name, "meta": m, "rows": rows}
        path = Path(args.out) / f"{name}{'_quick' if args.quick else ''}.json"
        path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        print(TABLES[name](doc))
        print(f"-> {path.relative_to(REPO) if path.is_relative_to(REPO) else path}\n", flush=True)


if __name__ == "__main__":
    main()
