"""`seqgen download NAME`: fetch a data set into the cache, every file checked against its sha256."""
from __future__ import annotations

from pathlib import Path

import click

from seqgen.data.download import SOURCES


@click.command()
@click.argument("dataset", type=click.Choice(sorted(SOURCES)))
@click.option("--dest", type=click.Path(file_okay=False), default=None, help="Target folder (default: the seqgen cache).")
@click.pass_context
def download(ctx, dataset, dest):
    """Download DATASET (needs internet) into the cache that `seqgen train` looks in."""
    from seqgen.data import download as dl
    from seqgen.data.locate import cache_dir

    target = Path(dest) if dest else cache_dir() / SOURCES[dataset].folder
    dl.download(dataset, target, progress=ctx.find_root().obj["progress"])
    click.echo(f"{dataset} ready in {target} ({SOURCES[dataset].credit})")
