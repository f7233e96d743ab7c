"""Where seqgen may read and write: safe names, outputs that never clobber inputs, regular files only.

A name that becomes part of a path (a recipe's ``name`` -> ``runs/<name>``, a prior label ->
``RUN/priors/<label>.*``) is one path component of letters, digits, ``_`` and ``-``: no separator,
no ``..`` and no dot (``with_suffix`` would map ``g.v1`` and ``g.v2`` onto one file).
"""
from __future__ import annotations

import glob
import os
import re
import stat
from pathlib import Path

from .errors import SeqgenError

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")

#: folders of a run directory holding its own artefacts (report samples, plots, fitted priors)
ARTEFACT_SUBDIRS = ("samples", "plots", "priors")
#: file endings an output inside a run directory may have (everything else there is an artefact)
OUTPUT_SUFFIXES = (".wav", ".flac")


class PathError(SeqgenError):
    """A name or path that would read or write somewhere it must not."""


def check_name(what: str, name) -> str:
    """``name`` if it is a safe single path component (see module docstring), else :class:`PathError`."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise PathError(f"{what} {name!r} is not a valid name: use 1-64 letters, digits, '_' or '-' "
                        f"(starting with a letter or digit; no '/', '.' or '..')")
    return name


def safe_name(text: str) -> str:
    """A valid name made from ``text`` (e.g. a dotted prior type as a default label)."""
    s = re.sub(r"[^A-Za-z0-9_-]+", "_", str(text)).strip("_-")[:64]
    return s or "prior"


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


def check_output(out, *, run_dir=None, inputs=()) -> Path:
    """Refuse an output path that is one of ``inputs`` or would overwrite an artefact of ``run_dir``
    (an existing file there that is not audio, or anything in its artefact folders); returns a Path."""
    out = Path(out)
    real = Path(os.path.realpath(out))
    for p in inputs:
        if p is not None and real == Path(os.path.realpath(p)):
            raise PathError(f"refusing to write {out}: it is an input of this command")
    if run_dir is not None:
        run = Path(os.path.realpath(run_dir))
        if real == run or any(_inside(real, run / d) for d in ARTEFACT_SUBDIRS) or (
                _inside(real, run) and real.exists() and real.suffix.lower() not in OUTPUT_SUFFIXES):
            raise PathError(f"refusing to write {out}: it is (or holds) an artefact of the run directory {run_dir}; "
                            f"write under {Path(run_dir) / 'generated'} or elsewhere")
    return out


def open_regular(path, mode: str = "rb"):
    """Open an existing file for reading, refusing anything but a regular file (a FIFO would block
    forever, a device would never end): opened non-blocking, checked with fstat, then used normally."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise PathError(f"{path} is not a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, mode)
    except BaseException:
        os.close(fd)
        raise


def check_regular(path) -> Path:
    """``path`` if it is a regular file (or missing: the reader reports that), else :class:`PathError`."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return path
    if not stat.S_ISREG(mode):
        raise PathError(f"{path} is not a regular file")
    return path


def open_append_nofollow(path):
    """Open ``path`` for appending text without following a symlink: a link planted there is replaced
    by a fresh file, so a log never writes through it to somewhere else."""
    path = Path(path)
    if path.is_symlink():
        path.unlink()
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o666)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise PathError(f"{path} is not a regular file")
    return os.fdopen(fd, "a", encoding="utf-8")


def apply_umask(fd: int) -> None:
    """Give a ``mkstemp`` file (mode 0600) the mode a plain ``open`` would: 0666 minus the umask."""
    mask = os.umask(0o022)
    os.umask(mask)
    os.fchmod(fd, 0o666 & ~mask)


def log_handler(path):
    """A ``logging`` handler appending to ``path`` without following a symlink planted there."""
    import logging

    class _NoFollowFileHandler(logging.FileHandler):
        def _open(self):
            return open_append_nofollow(self.baseFilename)

    return _NoFollowFileHandler(path)


#: a temp file of an atomic write untouched this long belongs to a killed writer
STALE_TEMP_SECONDS = 120


def clean_stale_temps(path) -> None:
    """Remove ``.NAME.*.tmp`` files a killed writer of ``path`` left behind (SIGKILL runs no cleanup)."""
    import time

    path = Path(path)
    now = time.time()
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        try:
            if tmp.is_file() and not tmp.is_symlink() and now - tmp.stat().st_mtime > STALE_TEMP_SECONDS:
                tmp.unlink()
        except OSError:
            pass
