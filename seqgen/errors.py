"""Exceptions a user can act on; the CLI prints their message (no traceback) and exits 1."""


class SeqgenError(Exception):
    """Base class: a message that tells the user what is wrong and how to fix it."""


class ConfigError(SeqgenError, ValueError):
    """A recipe file or ``--set`` override is invalid (unknown key, wrong type, syntax)."""


class DataError(SeqgenError):
    """Data cannot be found or holds nothing usable."""


class AudioLoadError(DataError):
    """One audio file cannot be decoded or holds unusable samples."""


class TrainingError(SeqgenError):
    """Training cannot go on (a non-finite loss); nothing of the run is stamped as done."""
