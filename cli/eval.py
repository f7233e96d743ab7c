"""`seqgen eval RUN_DIR...`: metrics of generated examples vs real ones (audio digits: IS, FID, NDB, ...; images: KDE, FID, IS, NLL)."""
from __future__ import annotations

import click

from .main import common, resolve_common

@click.command("eval")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path())
@click.option("--count", type=int, default=1000, show_default=True, help="Utterances or images to generate and score.")
@click.option("--temperature", type=float, default=None, help="Sampling temperature (default: the recipe's).")
@click.option("--decoder-noise", type=click.FloatRange(min=0), default=None,
              help="Std scale of a band-split decoder's 1-4 kHz noise (default: the recipe's; 0 = none).")
@click.option("--prior", "priors", multiple=True,
              help="Fitted prior label to evaluate (repeatable, e.g. --prior default --prior gaussian).")
@click.option("--compare", is_flag=True,
              help="Evaluate every prior fitted on each run (the default one and each `fit-prior` label).")
@click.option("--data", type=click.Path(), default=None, help="The run's data folder (default: where it was trained).")
@click.option("--no-reference", is_flag=True, help="Skip the real-data reference rows (faster).")
@click.option("--parzen", type=click.IntRange(min=0), default=0, show_default=True,
              help="Images: also the Parzen-window log-likelihood on this many generated images (10000: Goodfellow "
                   "et al.'s protocol, sigma grid-searched on a validation split); 0 = off.")
@click.option("--voicing-clips", type=click.IntRange(min=0), default=100, show_default=True,
              help="Audio digits: clips per row for the pYIN voiced-fraction and pitch metric (0 = off).")
@click.option("--markdown", is_flag=True, help="Print the table as Markdown (for a README).")
@click.option("--cached", is_flag=True, help="Print the table from each run's eval.json; evaluate nothing.")
@common
@click.pass_context
def eval_(ctx, run_dirs, count, temperature, decoder_noise, priors, compare, data, no_reference, parzen,
          voicing_clips, markdown, cached, device, seed):
    """Generate COUNT examples from each RUN_DIR and score them; writes RUN_DIR/eval.json.

    Audio digit runs: FSDD classifier metrics (IS, FID, NDB, ...); image runs: KDE score, classifier
    IS/FID, memorisation and exact likelihood. Several runs (e.g. a VAE baseline) go into one table.
    """
    from seqgen.config import check_range
    from seqgen.pipeline.evaluate import evaluate, format_table
    from seqgen.pipeline.run_dir import RunDir

    device, seed = resolve_common(ctx, device, seed)
    if count < 2:
        raise click.BadParameter(f"must be at least 2, got {count}", param_hint="--count")
    check_range("generate.count", count, "--count")
    if temperature is not None:
        check_range("generate.temperature", temperature, "--temperature")
    progress = ctx.find_root().obj["progress"]
    results = []
    for run_dir in run_dirs:
        labels = list(priors)
        if compare:
            from seqgen.pipeline.latents import is_label_prior

            fitted = sorted(k for k in RunDir(run_dir).read_metrics().get("priors", {}) if not is_label_prior(k))
            labels = list(dict.fromkeys(["default", *fitted, *priors]))  # per-label priors have their own metric
        if cached:
            from seqgen.artefacts import read_json_object

            stored = read_json_object(RunDir(run_dir).path / "eval.json")
            missing = [p for p in labels or ["default"] if p not in stored]
            if missing:
                raise click.ClickException(f"{run_dir}/eval.json has no result for {', '.join(missing)}; "
                                           f"run `seqgen eval` without --cached first")
            results += [stored[p] for p in labels or ["default"]]
            continue
        with RunDir(run_dir).lock():
            results += [
                evaluate(run_dir, count=count, seed=0 if seed is None else seed, temperature=temperature,
                         decoder_noise=decoder_noise, prior=None if label == "default" else label, data=data,
                         device=device or "cpu", progress=progress, reference_rows=not no_reference and i == 0,
                         parzen=parzen, voicing_clips=voicing_clips)
                for i, label in enumerate(labels or ["default"])
            ]
    click.echo(format_table(*results, markdown=markdown))
