"""egs/custom_dataset.py runs: a user-defined dataset, named by dotted path, trains and generates."""
import subprocess
import sys
from pathlib import Path

import soundfile as sf

EGS = Path(__file__).resolve().parents[1] / "egs" / "custom_dataset.py"


def test_custom_dataset_example(tmp_path, fsdd_root):
    out = tmp_path / "run"
    res = subprocess.run([sys.executable, str(EGS), "--fsdd", str(fsdd_root), "--out", str(out), "--epochs", "1"],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "trained on 90 manifest utterances" in res.stdout
    wavs = sorted((out / "generated").glob("*.wav"))
    assert len(wavs) == 3 and all(sf.info(w).samplerate == 8000 for w in wavs)


def test_custom_dataset_example_with_a_wrong_fsdd_path_fails_in_one_line(tmp_path):
    # the documented relative path, run from a folder where it does not lead to FSDD
    res = subprocess.run([sys.executable, str(EGS), "--fsdd", "../shared/data/fsdd", "--out", str(tmp_path / "r")],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert res.returncode == 1 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert res.stderr.startswith("error: --fsdd ../shared/data/fsdd: no FSDD recordings there")
    assert not (tmp_path / "r").exists()  # nothing half-made is left
