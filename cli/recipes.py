"""`seqgen recipes`: the shipped recipes, what each is, and whether its data is found here."""
from __future__ import annotations

import click


@click.command()
def recipes():
    """List the recipes shipped with seqgen (train one by name: `seqgen train NAME`)."""
    from seqgen.recipes_index import describe, names

    rows = [describe(n) for n in names()]
    w = max(len(r.name) for r in rows)
    click.echo(f"{'recipe':<{w}}  {'modality':<8}  {'data':<14}  {'data here':<16}  description")
    for r in rows:
        click.echo(f"{r.name:<{w}}  {r.modality:<8}  {r.source:<14}  {r.data_found:<16}  {r.description}")
    click.echo("\ndata here: where `seqgen train NAME` would take the data from (no: pass --data PATH, or "
               "seqgen download)")
