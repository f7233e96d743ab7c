"""`seqgen train RECIPE`: run a recipe's stages into a run directory."""
from __future__ import annotations

import os

import click

from .main import common, resolve_common


@click.command()
@click.argument("recipe", type=click.Path())
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Run directory (default runs/<recipe name>).")
@click.option("--data", type=click.Path(), default=None, help="Data folder (overrides recipe, $SEQGEN_DATA, cache).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a recipe key, e.g. prior.n_states=50.")
@click.option("--resume", is_flag=True, help="Continue autoencoder training from the run's last checkpoint.")
@click.option("--force", is_flag=True, help="Redo every stage even if its outputs exist for this config.")
@click.option("--nproc", type=click.IntRange(min=1), default=1, show_default=True,
              help="Data-parallel codec training in N processes (one per GPU): re-runs itself under torchrun.")
@click.option("--amp", type=click.Choice(["bf16", "fp16"]), default=None,
              help="Mixed-precision codec training (= --set train.amp=...): bf16 on CPU or CUDA, fp16 on CUDA.")
@common
@click.pass_context
def train(ctx, recipe, out, data, overrides, resume, force, nproc, amp, device, seed):
    """Train the autoencoder and fit the prior of RECIPE: a shipped recipe's name (see `seqgen recipes`),
    a folder with config.toml, or a TOML file. Ends with the HTML report (RUN/report/index.html)."""
    from seqgen.api import train as api_train
    from seqgen.training.distributed import env_rank

    device, seed = resolve_common(ctx, device, seed)
    overrides = (*overrides, f'train.amp="{amp}"') if amp else overrides
    if nproc > 1 and "LOCAL_RANK" not in os.environ:  # not yet under torchrun: launch it
        import subprocess

        from seqgen.config import load_recipe
        from seqgen.training.distributed import torchrun_command

        name = load_recipe(recipe, overrides).name
        args = ["-q"] * (not ctx.find_root().obj["progress"]) + ["train", recipe, "--out", out or f"runs/{name}"]
        args += ["--data", data] * bool(data) + [a for s in overrides for a in ("--set", s)]
        args += ["--resume"] * resume + ["--force"] * force
        args += ["--device", device] * bool(device) + ["--seed", str(seed)] * (seed is not None)
        ctx.exit(subprocess.call(torchrun_command(nproc, args)))
    run = api_train(recipe, out, overrides=list(overrides), data=data, device=device, seed=seed, resume=resume,
                    force=force, progress=ctx.find_root().obj["progress"]).dir
    if env_rank() != 0:  # under torchrun: rank 0 alone reports
        return
    m = run.read_metrics()
    ae, pr = m.get("autoencoder_test", {}), m.get("priors", {}).get("default", {})
    click.echo(f"run directory: {run.path}")
    if "snr_db" in ae:
        click.echo(f"  autoencoder test SNR {ae['snr_db']:.2f} dB")
    elif "psnr_db" in ae:
        click.echo(f"  autoencoder test MSE {ae['mse']:.5f} (PSNR {ae['psnr_db']:.2f} dB)")
    if pr:
        click.echo(f"  prior {pr['type']}: train {pr['train_ll_per_frame']:.2f} / test {pr['test_ll_per_frame']:.2f} nats/frame")
    plots = ", ".join(m.get("plots", [])) or "-"
    click.echo(f"  samples: {run.samples}/, plots: {run.plots}/ ({plots}), metrics: {run.metrics}")
    page = run.path / "report" / "index.html"
    click.echo(f"  report: {page}" if page.exists() else f"  report: not written (see the log); seqgen report {run.path}")
