"""The one audio loader (soundfile, librosa fallback; mono; soxr resampling) and an atomic WAV writer."""
from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import soundfile as sf

from ..artefacts import atomic_write
from ..errors import AudioLoadError, SeqgenError


class AudioWriteError(SeqgenError, ValueError):
    """Audio that must not be written (NaN/Inf samples)."""

log = logging.getLogger(__name__)

#: file name endings scanned when a folder of audio is given
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".aiff", ".aif", ".au", ".m4a", ".opus")


def load_audio(path: str | os.PathLike, sample_rate: int, *, min_samples: int = 1) -> np.ndarray:
    """Read ``path`` as mono float32 ``(T,)`` in [-1, 1] at ``sample_rate`` Hz.

    soundfile (libsndfile) first; librosa/audioread for formats libsndfile lacks. Channels are
    averaged; resampling uses soxr (VHQ). Raises :class:`AudioLoadError` naming the file for
    anything unusable: undecodable, empty, shorter than ``min_samples``, NaN/Inf samples.
    """
    path = Path(path)
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        raise AudioLoadError(f"{str(path).encode('utf-8', 'surrogateescape')!r}: the file name is not valid UTF-8 "
                             f"(the audio decoders cannot open it); rename the file") from None
    if not path.is_file():
        raise AudioLoadError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise AudioLoadError(f"{path}: empty file (0 bytes)")
    try:
        x, sr = sf.read(str(path), dtype="float32", always_2d=True)
        x = x.mean(axis=1)
    except Exception as sf_err:  # libsndfile can't read it: try librosa's audioread path
        try:
            import librosa

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                x, sr = librosa.load(str(path), sr=None, mono=True)
        except Exception:
            raise AudioLoadError(f"{path}: cannot decode audio ({sf_err})") from None
    x = np.asarray(x, dtype=np.float32)
    if not np.isfinite(x).all():
        raise AudioLoadError(f"{path}: contains NaN or Inf samples")
    if sr != sample_rate and len(x):
        import soxr

        x = soxr.resample(x, sr, sample_rate, quality="VHQ").astype(np.float32)
    if len(x) < max(1, min_samples):
        raise AudioLoadError(
            f"{path}: too short ({len(x)} samples at {sample_rate} Hz, need at least {max(1, min_samples)})"
        )
    return x


def load_many(
    paths: Iterable[str | os.PathLike], sample_rate: int, *, min_samples: int = 1, strict: bool = False,
    progress: bool = False,
) -> Iterator[tuple[Path, np.ndarray]]:
    """Yield ``(path, audio)`` for each readable file; unreadable ones are skipped with a warning
    naming them (or raise, with ``strict=True``)."""
    from tqdm.auto import tqdm

    paths = list(paths)
    for p in tqdm(paths, desc="loading audio", unit="file", disable=not progress, leave=False):
        try:
            yield Path(p), load_audio(p, sample_rate, min_samples=min_samples)
        except AudioLoadError as e:
            if strict:
                raise
            warnings.warn(f"skipping {e}", stacklevel=2)


def peak_normalize(x: np.ndarray, peak: float = 0.9) -> np.ndarray:
    """Scale so that max |x| = ``peak`` (FSDD peak levels range 0.01–1.0); silence stays silence."""
    m = float(np.max(np.abs(x))) if len(x) else 0.0
    return x if m < 1e-6 else (x * (peak / m)).astype(np.float32)


#: output containers by file name ending (16-bit PCM in each)
WRITE_FORMATS = {".wav": "WAV", ".flac": "FLAC"}


def output_format(path: str | os.PathLike) -> str:
    """The soundfile container for an output path's ending; other endings are refused, not mislabelled."""
    from ..errors import SeqgenError

    fmt = WRITE_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise SeqgenError(f"cannot write {path}: use a {' or '.join(WRITE_FORMATS)} file name")
    return fmt


def write_wav(path: str | os.PathLike, x: np.ndarray, sample_rate: int) -> dict:
    """Write 16-bit PCM WAV atomically (temp file + fsync + rename).

    NaN/Inf are refused; samples beyond full scale are clipped with a warning. Returns
    ``{"peak": ..., "clipped": n}`` for reporting.
    """
    fmt = output_format(path)
    x = np.asarray(x, dtype=np.float32)
    if not np.isfinite(x).all():
        raise AudioWriteError(f"{path}: refusing to write audio containing NaN or Inf")
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    clipped = int(np.sum(np.abs(x) > 1.0))
    if clipped:
        warnings.warn(f"{path}: clipped {clipped} samples (peak {peak:.2f} > 1.0)", stacklevel=2)
        x = np.clip(x, -1.0, 1.0)
    with atomic_write(path) as f:
        sf.write(f, x, sample_rate, subtype="PCM_16", format=fmt)
    return {"peak": peak, "clipped": clipped}


class StreamingWavWriter:
    """Append blocks to a 16-bit WAV; the file appears (atomically renamed) only on ``close()``.

    Used for long streamed generation so memory does not grow with the output length.
    """

    def __init__(self, path: str | os.PathLike, sample_rate: int):
        import tempfile

        from ..paths import apply_umask, clean_stale_temps

        self.path = Path(path)
        fmt = output_format(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        clean_stale_temps(self.path)
        fd, self._tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        apply_umask(fd)
        os.close(fd)
        self._f = sf.SoundFile(self._tmp, "w", samplerate=sample_rate, channels=1, subtype="PCM_16", format=fmt)
        self.peak, self.clipped, self.n_samples = 0.0, 0, 0

    def write(self, x: np.ndarray) -> None:
        x = np.asarray(x, dtype=np.float32)
        if not np.isfinite(x).all():
            self.abort()
            raise AudioWriteError(f"{self.path}: refusing to write audio containing NaN or Inf")
        if len(x):
            self.peak = max(self.peak, float(np.max(np.abs(x))))
        self.clipped += int(np.sum(np.abs(x) > 1.0))
        try:
            self._f.write(np.clip(x, -1.0, 1.0))
        except (RuntimeError, OSError) as e:  # disk full: libsndfile's error names no file
            self.abort()
            raise OSError(getattr(e, "errno", None), str(e).strip() or "write failed", str(self.path)) from None
        self.n_samples += len(x)

    def close(self) -> dict:
        self._f.close()
        with open(self._tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(self._tmp, self.path)
        if self.clipped:
            warnings.warn(f"{self.path}: clipped {self.clipped} samples (peak {self.peak:.2f} > 1.0)", stacklevel=2)
        return {"peak": self.peak, "clipped": self.clipped}

    def abort(self) -> None:
        if not self._f.closed:
            self._f.close()
        if os.path.exists(self._tmp):
            os.unlink(self._tmp)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_):
        if exc_type is None:
            self.close()
        else:
            self.abort()
