"""`seqgen report RUN_DIR [RUN_DIR ...]`: a self-contained HTML page of one run, or of several side by side."""
from __future__ import annotations

import time

import click

from .main import common, resolve_common


@click.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path())
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Page folder (default RUN_DIR/report; required for several runs).")
@click.option("--data", type=click.Path(), default=None, help="Data folder (default: the one the run was trained on).")
@common
@click.pass_context
def report(ctx, run_dirs, out, data, device, seed):
    """Write an HTML report (players, images, curves, metrics) that opens from disk."""
    from seqgen.pipeline.html_report import write_comparison, write_report

    device, seed = resolve_common(ctx, device, seed)
    t0 = time.perf_counter()
    if len(run_dirs) == 1:
        page = write_report(run_dirs[0], out, device=device or "cpu", data=data, seed=seed)
    else:
        if out is None:
            raise click.UsageError("several runs: give the page folder with --out DIR")
        page = write_comparison(list(run_dirs), out, device=device or "cpu", data=data, seed=seed)
    size = sum(p.stat().st_size for p in page.parent.rglob("*") if p.is_file())
    click.echo(f"wrote {page} ({size / 1e6:.1f} MB, {time.perf_counter() - t0:.1f} s); open it in a browser")
