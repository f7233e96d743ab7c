"""Data location order, FSDD splits, the one audio loader, atomic WAV writing."""
import os

import numpy as np
import pytest
import soundfile as sf

from seqgen.audio.io import StreamingWavWriter, load_audio, load_many, write_wav
from seqgen.data.fsdd import FSDD, looks_valid
from seqgen.data.locate import EMBEDDED, locate
from seqgen.errors import AudioLoadError, DataError


def test_fsdd_official_split(fsdd_root):
    ds = FSDD(fsdd_root)
    train, test = ds.files("train"), ds.files("test")
    assert len(train) == 2700 and len(test) == 300
    assert all(t < 5 for *_, t in test) and all(t >= 5 for *_, t in train)
    sevens = FSDD(fsdd_root, digits=[7], speakers=["theo"]).files("test")
    assert len(sevens) == 5 and all(d == 7 and s == "theo" for _, d, s, _ in sevens)
    with pytest.raises(ValueError, match="unknown FSDD speakers"):
        FSDD(fsdd_root, speakers=["nobody"])


def test_locate_order(fsdd_root, tmp_path, monkeypatch):
    monkeypatch.setenv("SEQGEN_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("SEQGEN_DATA", raising=False)
    assert locate("fsdd", looks_valid, data=str(fsdd_root))[1] == "--data"
    assert locate("fsdd", looks_valid, data=str(fsdd_root.parent))[0] == fsdd_root  # a data root holding fsdd/
    assert locate("fsdd", looks_valid, recipe_path=str(fsdd_root))[1] == "recipe data.path"
    monkeypatch.setenv("SEQGEN_DATA", str(fsdd_root.parent))
    assert locate("fsdd", looks_valid)[1] == "$SEQGEN_DATA"
    monkeypatch.delenv("SEQGEN_DATA")
    with pytest.warns(UserWarning, match="embedded"):
        root, where = locate("fsdd", looks_valid)
    assert where == "embedded subset" and root == EMBEDDED / "fsdd"
    with pytest.raises(DataError, match="--data"):
        locate("fsdd", looks_valid, data=str(tmp_path / "missing"))
    with pytest.raises(DataError, match="seqgen download fsdd"):
        locate("fsdd", looks_valid, allow_embedded=False)


def test_embedded_subset_has_both_splits():
    ds = FSDD(EMBEDDED / "fsdd")
    assert len(ds.files("train")) == 240 and len(ds.files("test")) == 60
    assert (EMBEDDED / "fsdd" / "README.md").read_text().count("CC BY-SA 4.0") >= 1


def test_loader_mixes_and_resamples(tmp_path, rng):
    t = np.arange(44100) / 44100
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 440 * t)], 1) * 0.5
    sf.write(tmp_path / "a.flac", stereo, 44100)
    sf.write(tmp_path / "b.wav", stereo[:, 0], 44100, subtype="FLOAT")
    for name in ("a.flac", "b.wav"):
        x = load_audio(tmp_path / name, 8000)
        assert x.dtype == np.float32 and abs(len(x) - 8000) <= 1
        assert np.abs(x).max() == pytest.approx(0.5, abs=0.02)


@pytest.mark.parametrize("content, msg", [(b"", "empty file"), (b"hello, I am text" * 10, "cannot decode"),
                                          (b"RIFF\x00\x00\x00\x00WAVEjunkjunk", "cannot decode")])
def test_loader_rejects_bad_files(tmp_path, content, msg):
    p = tmp_path / "bad.wav"
    p.write_bytes(content)
    with pytest.raises(AudioLoadError, match=msg):
        load_audio(p, 8000)


def test_load_many_skips_bad_files_with_warning(tmp_path):
    sf.write(tmp_path / "good.wav", np.zeros(800) + 0.1, 8000)
    (tmp_path / "bad.wav").write_bytes(b"not audio")
    with pytest.warns(UserWarning, match="bad.wav"):
        got = list(load_many(sorted(tmp_path.glob("*.wav")), 8000))
    assert [p.name for p, _ in got] == ["good.wav"]
    with pytest.raises(AudioLoadError, match="bad.wav"):
        list(load_many(sorted(tmp_path.glob("*.wav")), 8000, strict=True))


def test_write_wav_is_atomic_16bit_and_clips(tmp_path):
    p = tmp_path / "out.wav"
    with pytest.warns(UserWarning, match="clipped"):
        info = write_wav(p, np.array([0.0, 0.5, 2.0, -3.0], dtype=np.float32), 8000)
    assert info["clipped"] == 2 and info["peak"] == 3.0
    meta = sf.info(p)
    assert meta.samplerate == 8000 and meta.subtype == "PCM_16" and meta.frames == 4
    with pytest.raises(ValueError, match="NaN"):
        write_wav(p, np.array([np.nan]), 8000)
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


def test_streaming_writer_leaves_nothing_on_failure(tmp_path):
    p = tmp_path / "s.wav"
    with pytest.raises(ValueError):
        with StreamingWavWriter(p, 8000) as w:
            w.write(np.zeros(100))
            w.write(np.array([np.inf]))
    assert os.listdir(tmp_path) == []
    with StreamingWavWriter(p, 8000) as w:
        for _ in range(3):
            w.write(np.full(100, 0.1))
    assert sf.info(p).frames == 300


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 20000), rate=st.sampled_from([8000, 11025, 16000, 22050, 44100, 48000]),
       channels=st.integers(1, 6), subtype=st.sampled_from(["PCM_16", "PCM_24", "FLOAT"]),
       fmt=st.sampled_from(["WAV", "FLAC"]), seed=st.integers(0, 2**31))
def test_loader_property(tmp_path_factory, n, rate, channels, subtype, fmt, seed):
    """Any length, rate, channel count and sample format: mono float32 at 8 kHz, length ~ n * 8000 / rate."""
    if fmt == "FLAC" and subtype == "FLOAT":
        subtype = "PCM_16"
    x = np.random.default_rng(seed).uniform(-0.9, 0.9, (n, channels))
    p = tmp_path_factory.mktemp("prop") / f"x.{fmt.lower()}"
    sf.write(p, x, rate, subtype=subtype, format=fmt)
    expected = n * 8000 / rate
    try:
        y = load_audio(p, 8000)
    except AudioLoadError as e:  # resampling a few samples may leave none: the error must say so
        assert expected < 1 and "too short" in str(e)
        return
    assert y.ndim == 1 and y.dtype == np.float32 and np.isfinite(y).all()
    assert abs(len(y) - expected) <= 1
    if rate == 8000:
        np.testing.assert_allclose(y, x.mean(1), atol=1e-3)
