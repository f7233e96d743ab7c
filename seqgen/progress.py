"""Progress bars that suit where stderr goes: tqdm's bars on a terminal; in a redirected log, a plain line
every few seconds instead of a carriage-return redraw per update."""
from __future__ import annotations

import sys
import time

#: seconds between two progress lines when stderr is not a terminal
LOG_INTERVAL = 10.0
#: the log level of ``-v`` (between INFO, the default, and DEBUG, ``-vv``): third-party chatter such as
#: scikit-learn's per-iteration lines is shown from this level on
VERBOSE = 15


def verbose_logging() -> bool:
    """Whether the user asked for more output (``-v``): the ``seqgen`` logger is at :data:`VERBOSE` or below."""
    import logging

    return logging.getLogger("seqgen").isEnabledFor(VERBOSE)


class LineWriter:
    """A file for tqdm that turns its in-place redraws (``\\r...``) into whole lines, at most one per
    ``interval`` seconds over all bars (nested bars share the clock), plus a kept bar's final state;
    erasures (blank redraws) are dropped."""

    last = 0.0  # class-wide: the time of the last line of any bar

    def __init__(self, interval: float = LOG_INTERVAL):
        self.interval, self.pending = interval, ""

    def write(self, s: str) -> None:
        for part in s.replace("\n", "\r").split("\r"):
            if part.strip():
                self.pending = part.strip()
        now = time.monotonic()
        if self.pending and now - LineWriter.last >= self.interval:
            self._emit(now)

    def _emit(self, now: float) -> None:
        sys.stderr.write(self.pending + "\n")  # looked up now: a test runner swaps sys.stderr
        self.pending, LineWriter.last = "", now

    def flush(self) -> None:
        sys.stderr.flush()


def use_log_lines(interval: float = LOG_INTERVAL) -> bool:
    """When stderr is not a terminal, make every tqdm bar created from now on write log lines (see
    :class:`LineWriter`), its final state included; returns whether it did. Idempotent."""
    if sys.stderr.isatty():
        return False
    import functools

    from tqdm import std

    if getattr(std.tqdm.__init__, "_seqgen_lines", False):
        return True
    init, close = std.tqdm.__init__, std.tqdm.close

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        if kwargs.get("file") is None:
            kwargs["file"] = LineWriter(interval)
            kwargs.setdefault("mininterval", min(interval, 1.0))
            kwargs.setdefault("ascii", True)
        init(self, *args, **kwargs)

    @functools.wraps(close)
    def close_(self):
        leave = getattr(self, "leave", True)
        close(self)
        f = getattr(self, "fp", None)
        w = getattr(f, "_wrapped", f)  # tqdm wraps the file in a DisableOnWriteError
        if isinstance(w, LineWriter) and w.pending and leave:
            w._emit(time.monotonic())

    __init__._seqgen_lines = True
    std.tqdm.__init__, std.tqdm.close = __init__, close_
    return True
