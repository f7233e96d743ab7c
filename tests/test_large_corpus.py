"""A corpus need not fit in memory: the data stage streams examples into memory-mapped stores, latents
stream to latents.npz block by block and are memory-mapped back (real FSDD and violin audio)."""
from __future__ import annotations

import os
import warnings
import zipfile

import numpy as np
import pytest

from seqgen.artefacts import ArtefactError, read_npz, write_npz
from seqgen.config import load_recipe
from seqgen.errors import AudioLoadError
from seqgen.data.folder import AudioFolder
from seqgen.data.store import SequenceStore, StoreWriter
from seqgen.pipeline.build import build_representation, make_dataset
from seqgen.pipeline.examples import cache_split, data_cache, load_split, to_units
from seqgen.pipeline.latents import LatentSplit, _Moments, load_latents, save_latents
from seqgen.pipeline.run_dir import RunDir

from conftest import REPO


def test_store_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=(n, 3, 2)).astype(np.float32) for n in (5, 1, 7, 2)]
    w = StoreWriter(tmp_path / "s.f32")
    for a in arrays:
        w.append(a)
    store = w.finish()
    assert len(store) == 4 and store.array.shape == (15, 3, 2) and isinstance(store.array, np.memmap)
    assert all(np.array_equal(a, b) for a, b in zip(arrays, store))
    assert np.array_equal(store[-1], arrays[-1]) and [len(x) for x in store[1:3]] == [1, 7]
    store[0][:] = 0  # copy-on-write: memory changes, the file does not
    assert np.array_equal(SequenceStore(tmp_path / "s.f32", store.lengths, (3, 2))[0], arrays[0])
    with pytest.raises(IndexError):
        store[4]
    w = StoreWriter(tmp_path / "t.f32")
    w.append(arrays[0])
    with pytest.raises(ValueError, match="among arrays"):
        w.append(np.zeros((2, 3, 3)))


def test_cache_split_equals_the_in_memory_split(tmp_path, fsdd_root):
    """The stores hold exactly what load_split + to_units give, and the examples' audio is a view of the file."""
    cfg = load_recipe(REPO / "recipes" / "spoken_digits", ["data.digits=[3]", 'data.speakers=["theo"]'])
    rep = build_representation(cfg)
    ds, _ = make_dataset(cfg, str(fsdd_root))
    ref = load_split(rep, ds, "test")
    ex, units = cache_split(rep, ds, "test", tmp_path)
    assert [e.name for e in ex] == [e.name for e in ref] and [e.label for e in ex] == [3] * len(ref)
    assert all(isinstance(e.x.base, np.memmap) or isinstance(e.x, np.memmap) for e in ex)
    assert all(np.array_equal(a.x, b.x) for a, b in zip(ex, ref))
    assert all(np.array_equal(u, v) for u, v in zip(units, to_units(rep, ref)))
    assert units.array.shape == (sum(len(u) for u in units), rep.spec.frame_length)


def test_folder_source_reads_one_file_at_a_time(tmp_path, data_root):
    """iter_load yields the first file's examples before it opens the next (a broken second file raises only
    then, with strict): the data stage never holds a folder's audio at once."""
    import shutil

    shutil.copy(sorted((data_root / "fsdd" / "recordings").glob("*.wav"))[0], tmp_path / "a.wav")
    (tmp_path / "b.wav").write_bytes(b"RIFF not audio")
    it = AudioFolder(tmp_path, chunk_seconds=0.1).iter_load("train", sample_rate=8000, strict=True)
    first, second = next(it), next(it)
    assert (first.name, second.name) == ("a_train_000", "a_train_001") and len(first.x) == 800
    with pytest.raises(AudioLoadError, match="b.wav"):
        list(it)


def test_npz_members_are_memory_mapped(tmp_path):
    rng = np.random.default_rng(1)
    Z = rng.normal(size=(1000, 8)).astype(np.float32)
    with write_npz(tmp_path / "a.npz") as npz:
        npz.add_rows("z", (Z[i : i + 64] for i in range(0, 1000, 64)), 1000, (8,))
        npz.add("n", np.arange(3))
    with np.load(tmp_path / "a.npz") as ref:  # numpy reads what was streamed
        assert np.array_equal(ref["z"], Z) and np.array_equal(ref["n"], np.arange(3))
    got = read_npz(tmp_path / "a.npz", mmap=("z",))
    assert isinstance(got["z"], np.memmap) and np.array_equal(got["z"], Z) and not isinstance(got["n"], np.memmap)
    np.savez_compressed(tmp_path / "c.npz", z=Z)  # deflated members cannot be mapped: read instead
    got = read_npz(tmp_path / "c.npz", mmap=("z",))
    assert not isinstance(got["z"], np.memmap) and np.array_equal(got["z"], Z)
    data = (tmp_path / "a.npz").read_bytes()
    (tmp_path / "t.npz").write_bytes(data[:2000] + data[-200:])  # the member cut short, the directory kept
    with pytest.raises(ArtefactError):
        read_npz(tmp_path / "t.npz", mmap=("z",))
    with write_npz(tmp_path / "b.npz") as npz, pytest.raises(ValueError, match="declared"):
        npz.add_rows("z", [Z[:10]], 11, (8,))


def test_streamed_moments_equal_numpy():
    rng = np.random.default_rng(2)
    Z = (rng.normal(size=(5000, 6)) * [1, 10, 0.1, 3, 1e-3, 1] + [0, 100, -5, 0, 1, 1e4]).astype(np.float32)
    m = _Moments()
    for i in range(0, len(Z), 333):
        m.add(Z[i : i + 333])
    mean, std = m.mean_std()
    Z64 = Z.astype(np.float64)
    assert mean.dtype == np.float32 and std.dtype == np.float32
    np.testing.assert_allclose(mean, Z64.mean(0), rtol=1e-6)
    floor = 1e-6 * max(1.0, Z64.std())  # the floor of a near-constant dimension (here dimension 4)
    assert std[4] == pytest.approx(floor, rel=1e-5)
    np.testing.assert_allclose(std, np.maximum(Z64.std(0), floor), rtol=1e-5)


def test_saved_latents_stream_and_map_back(tmp_path):
    """save_latents from blocks that do not align with sequences; load_latents memory-maps them."""
    rng = np.random.default_rng(3)
    seqs = [rng.normal(size=(n, 4)).astype(np.float32) for n in (30, 12, 50)]
    Z = np.concatenate(seqs)
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    run.autoencoder.write_bytes(b"weights")
    save_latents(run, LatentSplit((Z[i : i + 7] for i in range(0, len(Z), 7)), [30, 12, 50], [1, None, 2]),
                 LatentSplit.of(seqs[:1], [0]), "h")
    lat = load_latents(run)
    assert isinstance(lat["train"], np.memmap) and np.array_equal(lat["train"], Z)
    assert lat["train_labels"].tolist() == [1, -1, 2] and lat["test_lengths"].tolist() == [30]
    np.testing.assert_allclose(lat["mean"], Z.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(lat["std"], Z.std(0), rtol=1e-5)
    with pytest.raises(ValueError, match="declared"):
        save_latents(run, LatentSplit(iter(seqs), [30, 12, 51], [0, 0, 0]),
                     LatentSplit.of(seqs[:1], [0]), "h")
    assert np.array_equal(load_latents(run)["train"], Z)  # the failed write left the old file whole


def test_train_leaves_no_data_cache(tmp_path, fsdd_root):
    """The memory-mapped data stores live beside the run while it trains and are removed afterwards."""
    from seqgen.pipeline.train import train

    cfg = load_recipe(REPO / "recipes" / "spoken_digits", ["data.digits=[0]", 'data.speakers=["theo"]',
                                                           "train.epochs=1", "prior.n_states=3", "prior.n_iter=2",
                                                           "prior.covariance_type=diag"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train(cfg, tmp_path / "run", data=str(fsdd_root), progress=False, generate_examples=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert zipfile.ZipFile(tmp_path / "run" / "latents.npz").getinfo("train.npy").compress_type == zipfile.ZIP_STORED


def test_a_killed_runs_data_cache_is_removed(tmp_path):
    """Stores left beside a run by a process that no longer runs are removed by the next train; a live
    process's are not (two ranks of one torchrun job train side by side)."""
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".run.data-{dead.stdout.strip()}-abc"
    live = tmp_path / f".run.data-{os.getppid()}-def"
    for d in (stale, live):
        d.mkdir()
        (d / "train_units.f32").write_bytes(b"\0" * 8)
    with data_cache(tmp_path / "run") as cache:
        assert cache.is_dir() and cache.parent == tmp_path and not stale.exists() and live.exists()
    assert not cache.exists()


@pytest.mark.parametrize("name, options", [("hmm", {"n_states": 4, "n_iter": 3, "covariance_type": "diag"}),
                                           ("gmm", {"n_components": 3})])
def test_scoring_in_bounded_groups_of_frames(monkeypatch, name, options):
    """Priors score a corpus a bounded number of frames at a time (an HMM's (frames, states) emissions of
    10 h of latents would be gigabytes); the per-sequence log-likelihoods are those of one pass."""
    import seqgen.priors.base as base
    from seqgen.priors import PRIORS

    rng = np.random.default_rng(4)
    lengths = rng.integers(5, 40, size=30)
    Z = rng.normal(size=(int(lengths.sum()), 3)).cumsum(0) * 0.1
    prior = PRIORS.resolve(name)(**options).fit(Z, lengths)
    whole = prior.log_prob(Z, lengths)
    monkeypatch.setattr(base, "SCORE_FRAMES", 50)
    assert len(list(base.groups(np.split(Z, np.cumsum(lengths)[:-1]), 50))) > 5
    np.testing.assert_allclose(prior.log_prob(Z, lengths), whole, rtol=1e-12)
