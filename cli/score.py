"""`seqgen score FILE RUN_DIR`: how typical a file is of a run — audio: per-frame prior + reconstruction log-likelihood; images: exact log-likelihood where the codec is invertible."""
from __future__ import annotations

import click

from .main import common, resolve_common


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("run_dir", type=click.Path())
@click.option("--prior", "prior_label", default=None, help="Which fitted prior (default: the recipe's).")
@click.option("--data", type=click.Path(), default=None,
              help="The run's data set (only needed once, to calibrate against its test split).")
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON.")
@common
@click.pass_context
def score(ctx, file, run_dir, prior_label, data, as_json, device, seed):
    """Score FILE under RUN_DIR's autoencoder and prior (nats per frame; higher = more typical)."""
    from seqgen.pipeline.evaluate import score_file

    device, _ = resolve_common(ctx, device, seed)
    r = score_file(file, run_dir, prior=prior_label, data=data, device=device or "cpu",
                   progress=ctx.find_root().obj["progress"])
    if as_json:
        import json

        click.echo(json.dumps(r, indent=2))
        return
    if "log_density" in r:  # a codec with a density of its own (LED's discriminator)
        click.echo(f"{r['file']}: log-density {r['log_density']:.2f} nats ({r['bits_per_dim']:.3f} bits/pixel) under "
                   f"the normalised discriminator")
        return
    if "n_frames" not in r:  # an image run
        ll = (f"log-likelihood {r['log_likelihood']:.2f} nats (exact, on the model's latent manifold)"
              if "log_likelihood" in r else "no exact likelihood for this codec")
        click.echo(f"{r['file']}: {ll}; prior log-likelihood of its latent {r['prior_ll']:.2f}, "
                   f"reconstruction MSE {r['recon_mse']:.5f}")
        return
    click.echo(f"{r['file']}: {r['total_per_frame']:.2f} nats/frame over {r['n_frames']} frames "
               f"(prior {r['prior_ll_per_frame']:.2f} + reconstruction {r['recon_ll_per_frame']:.2f}); "
               f"percentile among test utterances {r['total_percentile']:.0f}"
               + (" — UNUSUAL for this model" if r["unusual"] else ""))
