"""`seqgen train RECIPE`: run a recipe's stages into a run directory."""
from __future__ import annotations

import contextlib
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
@common
@click.pass_context
def train(ctx, recipe, out, data, overrides, resume, force, nproc, device, seed):
    """Train the autoencoder and fit the prior of RECIPE (a folder with config.toml)."""
    from seqgen.config import load_recipe

    cfg = load_recipe(recipe, overrides)
    device, seed = resolve_common(ctx, device, seed)
    if nproc > 1 and "LOCAL_RANK" not in os.environ:  # not yet under torchrun: launch it
        import subprocess

        from seqgen.training.distributed import torchrun_command

        args = ["-q"] * (not ctx.find_root().obj["progress"]) + ["train", recipe, "--out", out or f"runs/{cfg.name}"]
        args += ["--data", data] * bool(data) + [a for s in overrides for a in ("--set", s)]
        args += ["--resume"] * resume + ["--force"] * force
        args += ["--device", device] * bool(device) + ["--seed", str(seed)] * (seed is not None)
        ctx.exit(subprocess.call(torchrun_command(nproc, args)))
    from seqgen.pipeline.train import train as run_train
    from seqgen.training.distributed import env_rank

    if device:
        cfg.device = device
    if seed is not None:
        cfg.seed = seed
    out = out or f"runs/{cfg.name}"
    from seqgen.pipeline.run_dir import RunDir, remove_if_unused

    existed = RunDir(out).path.exists()
    # under torchrun every rank trains; rank 0 alone writes the run directory and holds its lock
    lock = RunDir(out).lock(create=True) if env_rank() == 0 else contextlib.nullcontext()
    try:
        with lock:
            run = run_train(cfg, out, data=data, resume=resume, force=force, progress=ctx.find_root().obj["progress"])
    except Exception:
        if not existed and env_rank() == 0:  # e.g. no data found: leave no half-made run directory behind
            remove_if_unused(RunDir(out))
        raise
    if env_rank() != 0:
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
