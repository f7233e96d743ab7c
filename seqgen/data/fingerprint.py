"""A cheap identity of a data folder (file names, sizes, modification times), so a run knows what it was made from."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path


def fingerprint(root: str | os.PathLike) -> str:
    """sha256 (16 hex digits) over the sorted ``(relative path, size, mtime_ns)`` of every file under ``root``."""
    root = Path(root)
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            p = Path(dirpath) / name
            try:
                st = p.stat()
            except OSError:
                continue
            h.update(f"{p.relative_to(root)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()[:16]
