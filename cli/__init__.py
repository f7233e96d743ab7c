"""The `seqgen` command-line front end (installed as ``seqgen.cli``)."""
