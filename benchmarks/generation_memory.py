"""Peak memory and speed of streamed generation, 10 s vs 600 s, side by side.

    python benchmarks/generation_memory.py runs/spoken_digits [--seconds 10 600] [--block-frames 256] [--prior LABEL]

Each length runs in a fresh subprocess (ru_maxrss is per process), writing a WAV incrementally.
The peak should not grow with the output length.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

CHILD = r"""
import json, resource, sys, time, os
from seqgen.pipeline.generate import Generator
run, seconds, block, out, prior = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
gen = Generator(run, prior=None if prior == "default" else prior)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
rec = gen.write_stream(out, seconds, seed=0, block_frames=block)
dt = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_rss_mb": peak / 1024, "after_load_mb": base / 1024,
                  "wall_s": dt, "x_realtime": seconds / dt, "wav_mb": os.path.getsize(out) / 2**20}))
"""

#: where a stream's time goes: cProfile of one ``write_stream`` in a fresh process, the cumulative time of the
#: function that does each part (``decode`` includes the decoder's low-pass; ``other`` is the rest of the loop)
PROFILE_PARTS = {"prior sampling (HMM stream)": ("seqgen/priors/", "sample_stream"),
                 "decoder (conv layers, low-pass, window)": ("seqgen/codecs/audio/conv1d.py", "decode"),
                 "band noise synthesis": ("seqgen/codecs/audio/noise.py", "sample"),
                 "overlap-add": ("seqgen/audio/framing.py", "overlap_add"),
                 "WAV writing": ("seqgen/audio/io.py", "write")}

PROFILE_CHILD = r"""
import cProfile, json, pstats, sys, time
from seqgen.pipeline.generate import Generator
run, seconds, block, out, parts = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4], json.loads(sys.argv[5])
gen = Generator(run)
pr = cProfile.Profile()
t0 = time.perf_counter()
pr.enable()
gen.write_stream(out, seconds, seed=0, block_frames=block)
pr.disable()
wall = time.perf_counter() - t0
st = pstats.Stats(pr).stats
res = {}
for name, (file, func) in parts.items():
    res[name] = sum(v[3] for (f, _, fn), v in st.items() if fn == func and f.replace(chr(92), "/").endswith(file)
                    or fn == func and file.endswith("/") and file in f.replace(chr(92), "/"))
res["other"] = max(wall - sum(res.values()), 0.0)
print(json.dumps({"wall_s": wall, "parts": res}))
"""


def profile_stream(run_dir: str, seconds: float, block_frames: int, out: str) -> dict:
    """Seconds per part of one streamed generation (:data:`PROFILE_PARTS`, in a fresh process under cProfile)."""
    res = subprocess.run([sys.executable, "-c", PROFILE_CHILD, run_dir, str(seconds), str(block_frames), out,
                          json.dumps(PROFILE_PARTS)], check=True, capture_output=True, text=True).stdout
    return json.loads(res.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir")
    ap.add_argument("--seconds", type=float, nargs="+", default=[10.0, 600.0])
    ap.add_argument("--block-frames", type=int, default=256)
    ap.add_argument("--prior", default="default", help="a prior label fitted on the run (seqgen fit-prior)")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for s in args.seconds:
            out = subprocess.run([sys.executable, "-c", CHILD, args.run_dir, str(s), str(args.block_frames),
                                  f"{tmp}/o.wav", args.prior], check=True, capture_output=True, text=True).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
    print(f"{'seconds':>8} {'peak RSS MB':>12} {'after load MB':>14} {'wall s':>8} {'x realtime':>11} {'WAV MB':>8}")
    for r in rows:
        print(f"{r['seconds']:>8.0f} {r['peak_rss_mb']:>12.1f} {r['after_load_mb']:>14.1f} {r['wall_s']:>8.2f} "
              f"{r['x_realtime']:>11.1f} {r['wav_mb']:>8.2f}")
    print(f"peak RSS ratio {rows[-1]['seconds']:.0f} s / {rows[0]['seconds']:.0f} s: "
          f"{rows[-1]['peak_rss_mb'] / rows[0]['peak_rss_mb']:.3f}")


if __name__ == "__main__":
    main()
