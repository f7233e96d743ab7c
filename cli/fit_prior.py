"""`seqgen fit-prior RUN_DIR --prior TYPE`: refit only the prior on a run's cached latents, to compare priors."""
from __future__ import annotations

import click

from .main import common, resolve_common


@click.command("fit-prior")
@click.argument("run_dir", type=click.Path())
@click.option("--prior", "prior_type", default=None, help="Registered prior name or dotted path (default: the run's).")
@click.option("--label", "--name", "label", default=None,
              help="Name to save it under (default: the prior type); with --per-label also NAME_label_<digit>.")
@click.option("--set", "overrides", multiple=True, metavar="prior.KEY=VALUE", help="Prior hyper-parameter override.")
@click.option("--force", is_flag=True, help="Refit even if a prior with this label and config exists.")
@click.option("--per-label", is_flag=True,
              help="Also fit one such prior per digit: priors/label_<digit> (for `seqgen generate --digit`), "
                   "or NAME_label_<digit> with --label NAME (`generate --prior NAME --digit`).")
@common
@click.pass_context
def fit_prior(ctx, run_dir, prior_type, label, overrides, force, per_label, device, seed):
    """Fit another prior on RUN_DIR's latents and print every fitted prior's log-likelihood per frame."""
    from seqgen.config import apply_overrides, from_dict
    from seqgen.errors import ConfigError
    from seqgen.pipeline.run_dir import RunDir
    from seqgen.pipeline.train import fit_label_priors
    from seqgen.pipeline.train import fit_prior as run_fit_prior

    run = RunDir(run_dir)
    base = run.load_config().to_dict()
    if any(not o.startswith("prior.") for o in overrides):
        raise ConfigError("fit-prior only takes prior.* overrides (the autoencoder and data are the run's)")
    if prior_type:
        from seqgen.config import trust_components

        trust_components(from_dict({"prior": {"type": prior_type}}))  # the user's own dotted path may import
        overrides = (f"prior.type={prior_type!r}", *overrides)  # another type starts from its own defaults
    cfg = from_dict(apply_overrides(base, list(overrides)))
    device, seed = resolve_common(ctx, device, seed)
    if seed is not None:
        cfg.seed = seed
    if device is not None:
        import inspect

        from seqgen.registry import PRIORS

        if "device" in inspect.signature(PRIORS.resolve(cfg.prior.type).__init__).parameters:
            cfg.prior.options["device"] = device
        elif device != "cpu":
            raise ConfigError(f"prior {cfg.prior.type!r} runs on the CPU only; drop --device {device}")
    progress = ctx.find_root().obj["progress"]
    from seqgen.paths import safe_name

    with run.lock():
        run_fit_prior(run, cfg, label=safe_name(cfg.prior.type) if label is None else label, progress=progress,
                      force=force)
        if per_label:
            fit_label_priors(run, cfg, name=label, progress=progress, force=force)
    click.echo(f"{'prior':<14}{'type':<10}{'train nats/frame':>18}{'test nats/frame':>17}{'fit s':>8}")
    priors = run.read_metrics().get("priors", {})
    for name, r in sorted(priors.items() if isinstance(priors, dict) else []):
        numbers = ("train_ll_per_frame", "test_ll_per_frame", "fit_seconds")
        if not (isinstance(r, dict) and isinstance(r.get("type"), str)
                and all(isinstance(r.get(k), (int, float)) for k in numbers)):
            continue  # a damaged record is not worth a traceback here
        click.echo(f"{name:<14}{r['type']:<10}{r['train_ll_per_frame']:>18.2f}{r['test_ll_per_frame']:>17.2f}"
                   f"{r['fit_seconds']:>8.1f}")
