"""Self-describing, pickle-free artefacts and atomic file writes.

Every artefact is a folder or file pair carrying ``{format_version, seqgen_version, kind,
config, state}``: JSON for the description, ``.npz`` (``allow_pickle=False``) or a torch
state dict loaded with ``weights_only=True`` for the arrays. Loading never runs code.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .errors import SeqgenError
from .paths import apply_umask, clean_stale_temps, open_regular

FORMAT_VERSION = 1


class ArtefactError(SeqgenError, RuntimeError):
    """A file that should hold a seqgen artefact is missing, corrupt or of another version."""


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[Any]:
    """Write ``path`` via a temp file in the same folder + fsync + rename.

    A crash leaves either the old file or the new one, never half of one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        apply_umask(fd)
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(e, OSError) and not e.filename:  # disk full etc.: name the file being written
            raise OSError(e.errno, e.strerror or str(e), str(path)) from None
        raise


def write_json(path: str | os.PathLike, obj: Any) -> None:
    with atomic_write(path, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True, default=_json_default)
        f.write("\n")


def read_json(path: str | os.PathLike) -> Any:
    try:
        with open_regular(path, "r") as f:
            return json.load(f)
    except FileNotFoundError:
        raise ArtefactError(f"missing file: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ArtefactError(f"corrupt JSON in {path}: {e}") from None


def read_json_object(path: str | os.PathLike) -> dict:
    """:func:`read_json` of a file whose top level must be an object (every seqgen description is)."""
    obj = read_json(path)
    if not isinstance(obj, dict):
        raise ArtefactError(f"{path} must hold a JSON object, got {type(obj).__name__}")
    return obj


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def save_arrays(path: str | os.PathLike, kind: str, config: dict, state: dict[str, np.ndarray]) -> None:
    """Save an artefact as ``<path>.json`` (description) + ``<path>.npz`` (arrays)."""
    from . import __version__

    path = Path(path)
    with write_npz(path.with_suffix(".npz")) as npz:
        for k, v in state.items():
            npz.add(k, v)
    write_json(
        path.with_suffix(".json"),
        {"format_version": FORMAT_VERSION, "seqgen_version": __version__, "kind": kind, "config": config},
    )


class NpzStream:
    """The members of an ``.npz`` being written by :func:`write_npz`."""

    def __init__(self, zf):
        self._zf = zf

    def add(self, name: str, array) -> None:
        """One whole array."""
        from numpy.lib import format as npformat

        with self._zf.open(f"{name}.npy", "w", force_zip64=True) as m:
            npformat.write_array(m, np.asarray(array), allow_pickle=False)

    def add_rows(self, name: str, blocks, n_rows: int, row_shape: tuple, dtype=np.float32) -> None:
        """A ``(n_rows, *row_shape)`` array written block by block as ``blocks`` yields it (an iterable of
        ``(n_i, *row_shape)`` arrays whose ``n_i`` add up to ``n_rows``): never held whole in memory."""
        from numpy.lib import format as npformat

        dtype, got = np.dtype(dtype), 0
        header = {"descr": npformat.dtype_to_descr(dtype), "fortran_order": False, "shape": (int(n_rows), *row_shape)}
        with self._zf.open(f"{name}.npy", "w", force_zip64=True) as m:
            npformat.write_array_header_1_0(m, header)
            for b in blocks:
                b = np.ascontiguousarray(b, dtype)
                if b.shape[1:] != tuple(row_shape) or got + len(b) > n_rows:
                    raise ValueError(f"{name}: block {b.shape} does not fit ({n_rows}, *{row_shape}) after {got} rows")
                m.write(b.data)
                got += len(b)
        if got != n_rows:
            raise ValueError(f"{name}: {got} rows written, {n_rows} declared")


@contextlib.contextmanager
def write_npz(path: str | os.PathLike) -> Iterator[NpzStream]:
    """Write an ``.npz`` atomically, member by member (uncompressed, the layout ``np.savez`` writes, so
    ``np.load`` reads it and :func:`read_npz` can memory-map its members)."""
    import zipfile

    with atomic_write(path) as f, zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        yield NpzStream(zf)


def load_arrays(path: str | os.PathLike, kind: str | None = None) -> tuple[dict, dict, dict[str, np.ndarray]]:
    """Load what :func:`save_arrays` wrote: ``(description, config, state)``; never unpickles."""
    path = Path(path)
    meta = read_json(path.with_suffix(".json"))
    check_meta(meta, path.with_suffix(".json"), kind)
    return meta, meta.get("config", {}), read_npz(path.with_suffix(".npz"))


#: most bytes of arrays one artefact file may declare (a zero array compresses 1000:1, so the file size says little)
MAX_ARRAY_BYTES = 1 << 30
#: most arrays in one file
MAX_ARRAYS = 256


def read_npz(path: str | os.PathLike, keys=None, max_bytes: int = MAX_ARRAY_BYTES,
             mmap: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """The arrays ``keys`` (default: all) of an ``.npz``, each header checked before its data is read:
    plain numeric dtypes only (no pickled objects), at most ``max_bytes`` declared in all; other
    members are never read. A missing key, a bad header or a corrupt file is an :class:`ArtefactError`.

    Arrays named in ``mmap`` that are stored uncompressed (as :func:`write_npz` and ``np.savez`` store
    them) are memory-mapped copy-on-write instead of read, so a corpus's latents are paged in from disk
    as they are used; they do not count towards ``max_bytes``."""
    import zipfile

    from numpy.lib import format as npformat

    path = Path(path)
    try:
        with open_regular(path) as f, zipfile.ZipFile(f) as zf:
            members = {n[: -len(".npy")]: n for n in zf.namelist() if n.endswith(".npy")}
            if len(members) > MAX_ARRAYS:
                raise ArtefactError(f"{path} holds {len(members)} arrays (at most {MAX_ARRAYS})")
            wanted = list(members) if keys is None else list(keys)
            missing = [k for k in wanted if k not in members]
            if missing:
                raise ArtefactError(f"{path} lacks array(s) {', '.join(missing)}")
            total, out = 0, {}
            for k in wanted:
                with zf.open(members[k]) as m:
                    shape, _, dtype = _npy_header(m, path, k)
                if dtype.hasobject or dtype.kind not in "biuf" or dtype.fields is not None:
                    raise ArtefactError(f"{path}: array {k!r} has dtype {dtype}; only plain numbers are read")
                info = zf.getinfo(members[k])
                if k in mmap and info.compress_type == zipfile.ZIP_STORED and 0 not in shape and shape:
                    out[k] = _map_member(f, info, path, k)
                    continue
                total += int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
                if total > max_bytes:
                    raise ArtefactError(f"{path}: arrays declare more than {max_bytes / 2**20:.0f} MiB "
                                        f"(array {k!r}: shape {shape}, {dtype}); refusing to load")
            for k in wanted:
                if k not in out:
                    with zf.open(members[k]) as m:
                        out[k] = npformat.read_array(m, allow_pickle=False)
            return {k: out[k] for k in wanted}
    except FileNotFoundError:
        raise ArtefactError(f"missing file: {path}") from None
    except SeqgenError:
        raise
    except Exception as e:  # zipfile.BadZipFile, ValueError (bad header, pickled object arrays), OSError
        raise ArtefactError(f"corrupt or unsafe array file {path}: {e}") from None


def _npy_header(f, path, key) -> tuple[tuple, bool, np.dtype]:
    """``(shape, fortran_order, dtype)`` of the ``.npy`` data starting at ``f``'s position."""
    from numpy.lib import format as npformat

    version = npformat.read_magic(f)
    reader = {(1, 0): npformat.read_array_header_1_0, (2, 0): npformat.read_array_header_2_0}
    if version not in reader:
        raise ArtefactError(f"{path}: array {key!r} has unsupported .npy version {version}")
    return reader[version](f)


def _map_member(f, info, path, key) -> np.ndarray:
    """Memory-map the ``.npy`` member ``info`` of the open zip file ``f`` (stored, not deflated).

    Written by hand because ``np.load(..., mmap_mode=...)`` ignores the mode for ``.npz`` archives: the
    member's bytes start after its local file header (30 bytes + name + extra field), and its array
    data after the ``.npy`` header there."""
    import struct

    f.seek(info.header_offset)
    local = f.read(30)
    if len(local) != 30 or local[:4] != b"PK\x03\x04":
        raise ArtefactError(f"{path}: array {key!r} has a corrupt zip entry")
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    start = info.header_offset + 30 + name_len + extra_len
    f.seek(start)
    shape, fortran, dtype = _npy_header(f, path, key)
    offset = f.tell()
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if offset - start + nbytes > info.file_size or offset + nbytes > os.fstat(f.fileno()).st_size:
        raise ArtefactError(f"{path}: array {key!r} declares more data than the file holds")
    return np.memmap(f, dtype=dtype, mode="c", offset=offset, shape=shape, order="F" if fortran else "C")


def check_meta(meta: Any, where: Path, kind: str | None) -> None:
    if not isinstance(meta, dict) or "format_version" not in meta:
        raise ArtefactError(f"{where} is not a seqgen artefact (no format_version)")
    if meta["format_version"] != FORMAT_VERSION:
        raise ArtefactError(
            f"{where} has format_version {meta['format_version']!r}; this seqgen reads {FORMAT_VERSION}"
        )
    if kind is not None and meta.get("kind") != kind:
        raise ArtefactError(f"{where} holds a {meta.get('kind')!r}, expected {kind!r}")


def save_torch_state(path: str | os.PathLike, kind: str, config: dict, state_dict: dict) -> None:
    """Save a torch ``state_dict`` (tensors only) + JSON description, atomically."""
    import torch

    from . import __version__

    path = Path(path)
    bad = [k for k, v in _tensors(state_dict) if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise ArtefactError(f"refusing to save {path}: {bad[0]} holds NaN or Inf")
    buf = io.BytesIO()
    torch.save(state_dict, buf)
    with atomic_write(path) as f:
        f.write(buf.getvalue())
    write_json(
        path.with_suffix(".json"),
        {"format_version": FORMAT_VERSION, "seqgen_version": __version__, "kind": kind, "config": config},
    )


def _tensors(obj, prefix: str = ""):
    """``(name, tensor)`` of every tensor in nested dicts / lists."""
    import torch

    if isinstance(obj, torch.Tensor):
        yield prefix, obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _tensors(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from _tensors(v, f"{prefix}[{i}]")


def load_torch_state(path: str | os.PathLike, kind: str | None = None, map_location: str = "cpu") -> tuple[dict, dict]:
    """Load ``(config, state_dict)`` with ``weights_only=True``: a crafted pickle is refused, not run."""
    import pickle

    import torch

    path = Path(path)
    meta = read_json(path.with_suffix(".json"))
    check_meta(meta, path.with_suffix(".json"), kind)
    try:
        with open_regular(path) as f:
            state = torch.load(f, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise ArtefactError(f"missing file: {path}") from None
    except SeqgenError:
        raise
    except Exception as e:  # the unpickler fails in many ways on foreign bytes (IndexError, KeyError, ...)
        why = str(e).strip().splitlines()[0][:120] if not isinstance(e, pickle.UnpicklingError) else "pickled objects"
        raise ArtefactError(f"refusing to load {path}: not a plain tensor state dict ({type(e).__name__}: {why})") \
            from None
    if not isinstance(state, dict):
        raise ArtefactError(f"{path} does not hold a state dict")
    return meta.get("config", {}), state
