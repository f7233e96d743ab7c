"""`seqgen eval RUN_DIR`: classifier-based metrics of generated digits vs real ones (IS, mIS, AM, FID, NDB, ...)."""
from __future__ import annotations

import click

from .main import common, resolve_common

@click.command("eval")
@click.argument("run_dir", type=click.Path())
@click.option("--count", type=int, default=1000, show_default=True, help="Utterances to generate and score.")
@click.option("--temperature", type=float, default=None, help="Sampling temperature (default: the recipe's).")
@click.option("--decoder-noise", type=click.FloatRange(min=0), default=None,
              help="Std scale of a band-split decoder's 1-4 kHz noise (default: the recipe's; 0 = none).")
@click.option("--prior", "priors", multiple=True,
              help="Fitted prior label to evaluate (repeatable, e.g. --prior default --prior gaussian).")
@click.option("--compare", is_flag=True,
              help="Evaluate every prior fitted on this run (the default one and each `fit-prior` label).")
@click.option("--data", type=click.Path(), default=None, help="FSDD folder (default: where the run found it).")
@click.option("--no-reference", is_flag=True, help="Skip the real-audio reference rows (faster).")
@common
@click.pass_context
def eval_(ctx, run_dir, count, temperature, decoder_noise, priors, compare, data, no_reference, device, seed):
    """Generate COUNT utterances and score them with an FSDD digit classifier; writes RUN_DIR/eval.json."""
    from seqgen.config import check_range
    from seqgen.pipeline.evaluate import format_table
    from seqgen.pipeline.run_dir import RunDir

    device, seed = resolve_common(ctx, device, seed)
    if count < 2:
        raise click.BadParameter(f"must be at least 2, got {count}", param_hint="--count")
    check_range("generate.count", count, "--count")
    if temperature is not None:
        check_range("generate.temperature", temperature, "--temperature")
    progress = ctx.find_root().obj["progress"]
    if compare:
        fitted = sorted(k for k in RunDir(run_dir).read_metrics().get("priors", {}) if not k.startswith("label_"))
        priors = list(dict.fromkeys(["default", *fitted, *priors]))  # per-label priors have their own metric
    with RunDir(run_dir).lock():
        results = _evaluate_all(run_dir, priors, count=count, seed=seed, temperature=temperature,
                                decoder_noise=decoder_noise, data=data, device=device, progress=progress,
                                no_reference=no_reference)
    click.echo(format_table(*results))


def _evaluate_all(run_dir, priors, *, count, seed, temperature, decoder_noise, data, device, progress, no_reference):
    from seqgen.pipeline.evaluate import evaluate

    return [
        evaluate(run_dir, count=count, seed=0 if seed is None else seed, temperature=temperature,
                 decoder_noise=decoder_noise,
                 prior=None if label == "default" else label, data=data, device=device or "cpu",
                 progress=progress, reference_rows=not no_reference and i == 0)
        for i, label in enumerate(priors or ["default"])
    ]
