"""Image data: the IDX reader and MNIST on the real t10k files, damaged IDX files, the image folder on real faces."""
import gzip
import hashlib
import shutil
import warnings

import numpy as np
import pytest

from seqgen.data import download
from seqgen.data.image import idx, mnist
from seqgen.data.image.folder import ImageFolder
from seqgen.data.image.folder import looks_valid as folder_looks_valid
from seqgen.errors import DataError
from seqgen.registry import DATASETS

# sha256 of the decompressed IDX content, as published (TFDS and others); the shared copy is re-gzipped
T10K_CONTENT_SHA256 = {
    "t10k-images-idx3-ubyte.gz": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte.gz": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
# label histogram of the 10,000 MNIST test digits (well known)
T10K_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="session")
def mnist_root(data_root):
    return data_root / "mnist_t10k"


@pytest.fixture(scope="session")
def faces_root(data_root):
    return data_root / "faces_congress_pd"


# ------------------------------------------------------------------ IDX + MNIST
def test_idx_reader_on_real_t10k(mnist_root):
    for name, sha in T10K_CONTENT_SHA256.items():
        assert hashlib.sha256(gzip.decompress((mnist_root / name).read_bytes())).hexdigest() == sha
    x = idx.read_images(mnist_root / "t10k-images-idx3-ubyte.gz")
    y = idx.read_labels(mnist_root / "t10k-labels-idx1-ubyte.gz")
    assert x.shape == (10000, 28, 28) and x.dtype == np.uint8 and x.max() == 255
    assert np.bincount(y).tolist() == T10K_COUNTS and y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


def test_mnist_t10k_split_is_8000_2000_fixed_and_disjoint(mnist_root):
    assert mnist.looks_valid(mnist_root) and DATASETS.resolve("mnist") is mnist.MNIST
    ds = mnist.MNIST(mnist_root)
    assert ds.split_mode == "t10k_8000_2000_seed0" and "8,000" in ds.split_description
    tr, te = ds.load("train"), ds.load("test")
    assert (len(tr), len(te)) == (8000, 2000)
    ex = tr[0]
    assert ex.x.shape == (1, 28, 28) and ex.x.dtype == np.float32 and 0 <= ex.x.min() and ex.x.max() <= 1
    names_tr, names_te = {e.name for e in tr}, {e.name for e in te}
    assert not names_tr & names_te and len(names_tr | names_te) == 10000
    hist = np.bincount([e.label for e in tr], minlength=10) + np.bincount([e.label for e in te], minlength=10)
    assert hist.tolist() == T10K_COUNTS
    again = mnist.MNIST(mnist_root).load("test")  # a fresh object: same images in the same order
    assert [e.name for e in again] == [e.name for e in te] and np.array_equal(again[5].x, te[5].x)


def test_mnist_options_resize_and_official_split(mnist_root, tmp_path):
    ds = mnist.MNIST(mnist_root, digits=[3, 7], limit_train=50, limit_test=20)
    tr = ds.load("train", size=(32, 32))
    assert len(tr) == 50 and {e.label for e in tr} <= {3, 7} and tr[0].x.shape == (1, 32, 32)
    assert 0 <= min(e.x.min() for e in tr) and max(e.x.max() for e in tr) <= 1
    assert len(ds.load("test", channels=3)) == 20 and ds.load("test", channels=3)[0].x.shape == (3, 28, 28)
    with pytest.raises(ValueError, match="digits"):
        mnist.MNIST(mnist_root, digits=[10])
    # train-* files present (here: plain, un-gzipped copies of t10k) -> the official split is used
    for n in ("images-idx3-ubyte", "labels-idx1-ubyte"):
        (tmp_path / f"train-{n}").write_bytes(gzip.decompress((mnist_root / f"t10k-{n}.gz").read_bytes()))
        shutil.copy(mnist_root / f"t10k-{n}.gz", tmp_path)
    off = mnist.MNIST(tmp_path)
    assert off.split_mode == "official_60000_10000" and len(off.load("train")) == len(off.load("test")) == 10000
    assert not mnist.looks_valid(tmp_path / "nothing")
    only_train = tmp_path / "only_train"
    only_train.mkdir()
    for f in tmp_path.glob("train-*"):
        shutil.copy(f, only_train)
    assert not mnist.looks_valid(only_train)
    with pytest.raises(DataError, match="no MNIST test files"):
        mnist.MNIST(only_train)


def _idx_bytes(arr: np.ndarray, code: int = 0x08) -> bytes:
    head = bytes([0, 0, code, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return head + arr.astype(">u1").tobytes()


@pytest.mark.parametrize("damage, message", [
    (lambda good: b"\x12\x34" + good[2:], "bad magic"),
    (lambda good: good[:-7], "size mismatch, truncated"),
    (lambda good: good + b"\0", "trailing bytes"),
    (lambda good: good[:6], "truncated IDX header"),
    (lambda good: gzip.compress(good)[:-30], "truncated gzip"),
    (lambda good: gzip.compress(good)[:40] + b"\xff" * 40, "gzip"),
    (lambda good: b"", "bad magic"),
])
def test_damaged_idx_files_give_one_line_data_errors(tmp_path, damage, message):
    good = _idx_bytes(np.arange(5 * 28 * 28).reshape(5, 28, 28) % 256)
    p = tmp_path / "bad-images-idx3-ubyte"
    p.write_bytes(damage(good))
    with pytest.raises(DataError, match=f"(?i){message}") as e:
        idx.read_images(p)
    assert "\n" not in str(e.value) and str(p) in str(e.value)


def test_wrong_dims_and_labels_are_refused(tmp_path):
    p = tmp_path / "x"
    p.write_bytes(_idx_bytes(np.zeros((4, 28), np.uint8)))
    with pytest.raises(DataError, match=r"expected uint8 images \(N, H, W\)"):
        idx.read_images(p)
    p.write_bytes(_idx_bytes(np.array([1, 2, 11], np.uint8)))
    with pytest.raises(DataError, match="label 11 out of range"):
        idx.read_labels(p)
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(_idx_bytes(np.zeros((3001, 2, 2), np.uint8)))
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(_idx_bytes(np.zeros(3000, np.uint8)))
    with pytest.raises(DataError, match="3001 images but .* 3000 labels"):
        mnist.MNIST(tmp_path).load("train")


# ------------------------------------------------------------------ download


def test_mnist_registry_is_the_published_one():
    from seqgen.data.download import registry

    reg = registry("mnist")
    assert sorted(reg) == sorted(f"{p}-{k}.gz" for p in ("train", "t10k")
                                 for k in ("images-idx3-ubyte", "labels-idx1-ubyte"))
    assert reg["t10k-labels-idx1-ubyte.gz"] == \
        "sha256:f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"
    assert all(v.startswith("sha256:") and len(v) == 7 + 64 for v in reg.values())


def test_mnist_download_uses_a_working_mirror_and_refuses_tampering(server, mnist_root, tmp_path, monkeypatch):
    root, url = server
    names = ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    for n in names:
        shutil.copy(mnist_root / n, root / n)
    # the shared copy is re-gzipped, so its bytes (not the published ones) are what this server checks against
    local = {n: "sha256:" + hashlib.sha256((mnist_root / n).read_bytes()).hexdigest() for n in names}
    monkeypatch.setattr(download, "registry", lambda name: local)
    dead = "http://127.0.0.1:9/"  # nothing listens there: the loader must move on to the next mirror
    dest = download.download("mnist", tmp_path / "cache" / "mnist", progress=False, base_urls=(dead, url))
    assert sorted(p.name for p in dest.iterdir()) == names and mnist.looks_valid(dest)
    assert len(mnist.MNIST(dest).load("test")) == 2000

    (root / names[1]).write_bytes(gzip.compress(b"\0\0\x08\x01" + b"\0" * 10))
    with pytest.raises(ValueError, match="(?i)hash|sha256"):
        download.download("mnist", tmp_path / "other", progress=False, base_urls=(url,))
    assert not (tmp_path / "other" / names[1]).exists()
    with pytest.raises(DataError, match="network failure: cannot download the mnist data set.s file t10k-images"):
        download.download("mnist", tmp_path / "none", progress=False, base_urls=(dead,))


# ------------------------------------------------------------------ image folder
def test_image_folder_on_real_faces(faces_root):
    assert folder_looks_valid(faces_root) and DATASETS.resolve("image_folder") is ImageFolder
    ds = ImageFolder(faces_root, subdir="faces_congress_pd")
    assert ImageFolder.data_folder({"subdir": "faces_congress_pd"}) == "faces_congress_pd"
    tr, te = ds.load("train", size=(64, 64)), ds.load("test", size=(64, 64))
    assert (len(tr), len(te)) == (732, 81) and not {e.name for e in tr} & {e.name for e in te}
    x = np.stack([e.x for e in te])
    assert x.shape == (81, 1, 64, 64) and x.dtype == np.float32 and 0 <= x.min() < 0.2 and 0.8 < x.max() <= 1
    assert [e.name for e in ImageFolder(faces_root).load("test", size=(16, 16))] == [e.name for e in te]
    assert ImageFolder(faces_root, files=["A0000*"]).load("train", size=(8, 8), channels=3)[0].x.shape == (3, 8, 8)


def test_image_folder_box_reproduces_the_shipped_64px_faces(faces_root):
    """The README's recipe (box (25, 20, 175, 170), Lanczos to 64×64, gray) gives faces64_gray.npz exactly."""
    z = np.load(faces_root / "faces64_gray.npz")
    ds = ImageFolder(faces_root / "images", box=[25, 20, 175, 170], files=["A00*", "B00*"], holdout_fraction=0.0)
    ex = ds.load("train", size=(64, 64))
    row = {str(b).removesuffix(".jpg"): i for i, b in enumerate(z["bioguide_ids"])}
    got = np.stack([np.round(e.x[0] * 255) for e in ex])
    assert len(ex) > 20 and np.array_equal(got, z["images"][[row[e.name] for e in ex]].astype(float))


def test_corrupt_image_is_skipped_with_a_warning_or_strict_error(faces_root, tmp_path):
    for p in sorted((faces_root / "images").glob("*.jpg"))[:9]:
        shutil.copy(p, tmp_path / p.name)
    bad = tmp_path / "zz_broken.jpg"
    bad.write_bytes((faces_root / "images" / "A000014.jpg").read_bytes()[:300])  # a truncated JPEG
    (tmp_path / "notes.txt").write_text("not an image")
    ds = ImageFolder(tmp_path, holdout_fraction=0.0)
    with pytest.warns(UserWarning, match="zz_broken.jpg"):
        ex = ds.load("train", size=(32, 32))
    assert len(ex) == 9
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DataError, match="zz_broken.jpg") as e:
            ds.load("train", size=(32, 32), strict=True)
    assert "\n" not in str(e.value)
    with pytest.raises(DataError, match="no images"):
        ImageFolder(tmp_path, files=["*.png"]).load("train")
    with pytest.raises(ValueError, match="box"):
        ImageFolder(tmp_path, box=[10, 10, 5, 20])
