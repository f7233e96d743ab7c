"""`seqgen generate RUN_DIR`: audio — a long stream (--seconds) or separate utterances (--count); images — a grid (--out x.png) or files (--out-dir)."""
from __future__ import annotations

from pathlib import Path

import click

from .main import common, resolve_common


@click.command()
@click.argument("run_dir", type=click.Path())
@click.option("--seconds", type=float, default=None, help="Length of one continuous stream (default: the recipe's).")
@click.option("--count", type=int, default=None, help="Generate COUNT separate utterances instead of a stream.")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="WAV file (audio stream) or PNG grid (images).")
@click.option("--out-dir", type=click.Path(file_okay=False), default=None, help="Folder for --count mode.")
@click.option("--temperature", type=float, default=None, help="Emission noise scale (0 = state means, 1 = model).")
@click.option("--decoder-noise", type=click.FloatRange(min=0), default=None,
              help="Std scale of a band-split decoder's 1-4 kHz noise (default: the recipe's; 0 = none).")
@click.option("--prior", "prior_label", default=None, help="Which fitted prior (default: the recipe's; see fit-prior).")
@click.option("--digit", type=int, default=None,
              help="Sample the per-digit prior, e.g. --digit 7 says sevens (with --prior NAME: NAME_label_7).")
@click.option("--label", "label_alias", type=int, default=None, hidden=True, help="Deprecated: use --digit.")
@click.option("--prompt", type=click.Path(dir_okay=False), default=None,
              help="Continue this audio file: output = prompt + --seconds of new audio.")
@click.option("--block-frames", type=int, default=256, show_default=True, help="Frames decoded per block (memory).")
@common
@click.pass_context
def generate(ctx, run_dir, seconds, count, out, out_dir, temperature, decoder_noise, prior_label, digit, label_alias,
             prompt, block_frames, device, seed):
    """Sample latents from the prior and decode them: WAV files for audio runs, PNG images for image runs."""
    from seqgen.pipeline.generate import check_seconds

    device, seed = resolve_common(ctx, device, seed)
    if label_alias is not None:  # the old name: fit-prior's --label is a save name, so generate's became --digit
        if digit is not None and digit != label_alias:
            raise click.UsageError("give --digit (or the deprecated --label), not both")
        click.echo("warning: generate --label is deprecated; use --digit", err=True)
        digit = label_alias
    if count is not None and seconds is not None:
        raise click.UsageError("give --seconds (one stream) or --count (separate utterances), not both")
    if count is not None and count <= 0:
        raise click.BadParameter(f"must be positive, got {count}", param_hint="--count")
    if seconds is not None:
        check_seconds(seconds)
    from seqgen.config import check_range

    check_range("generate.block_frames", block_frames, "--block-frames")
    if count is not None:
        check_range("generate.count", count, "--count")
    from seqgen.audio.io import output_format
    from seqgen.paths import check_output

    if out is not None:
        check_output(out, run_dir=run_dir, inputs=[prompt])
    if out_dir is not None:
        check_output(out_dir, run_dir=run_dir, inputs=[prompt])
    from seqgen.api import load_run

    gen = load_run(run_dir, prior=prior_label, digit=digit, device=device or "cpu", decoder_noise=decoder_noise).generator
    seed = gen.cfg.seed if seed is None else seed
    temperature = gen.cfg.generate.temperature if temperature is None else temperature
    check_range("generate.temperature", temperature, "--temperature")
    progress = ctx.find_root().obj["progress"]
    if gen.modality == "vector":  # vectors and 2-d points: one .npy of (count, dim)
        if seconds is not None or prompt is not None:
            raise click.UsageError("--seconds and --prompt are for audio runs; vector runs take --count")
        if out is not None and Path(out).suffix.lower() != ".npy":
            raise click.UsageError(f"--out {out}: a vector run writes one .npy array (use a .npy file name)")
        count = count or gen.cfg.generate.count or 1000
        out = out or str(Path(out_dir or Path(run_dir) / "generated") / f"samples_seed{seed}.npy")
        rec = gen.write_vectors(out, count, seed=seed, temperature=temperature)
        click.echo(f"wrote {rec['path']} ({count} points, seed {seed}, temperature {temperature})")
        return
    if gen.modality == "image":
        if seconds is not None or prompt is not None:
            raise click.UsageError("--seconds and --prompt are for audio runs; image runs take --count")
        if out is not None and Path(out).suffix.lower() != ".png":
            raise click.UsageError(f"--out {out}: an image run writes a PNG grid (use a .png file name)")
        count = count or gen.cfg.generate.count or 64
        if out_dir is not None:
            recs = gen.write_examples(out_dir, count, seed=seed, temperature=temperature)
            click.echo(f"wrote {len(recs)} images to {out_dir}/ (seed {seed}, temperature {temperature})")
        else:
            out = out or str(Path(run_dir) / "generated" / f"grid_seed{seed}.png")
            gen.write_grid(out, count, seed=seed, temperature=temperature)
            click.echo(f"wrote {out} ({count} images, seed {seed}, temperature {temperature})")
        return
    if out is not None:
        output_format(out)
    count = count if count is not None else (gen.cfg.generate.count if seconds is None else 0)
    if prompt is not None:
        from seqgen.audio.io import load_audio, write_wav

        if count:
            raise click.UsageError("--prompt continues one stream; it does not combine with --count")
        x = gen.rep.prepare(load_audio(prompt, gen.sample_rate))
        seconds = seconds if seconds is not None else gen.cfg.generate.seconds
        out = out or str(Path(run_dir) / "generated" / f"continued_seed{seed}.wav")
        y = gen.continue_audio(x, seconds, seed=seed, temperature=temperature)
        info = write_wav(out, y, gen.sample_rate)
        click.echo(f"wrote {out} ({len(y) / gen.sample_rate - seconds:.2f} s prompt + {seconds:.2f} s new, "
                   f"peak {info['peak']:.2f})")
        return
    if count:
        folder = Path(out_dir or Path(run_dir) / "generated")
        recs = gen.write_examples(folder, count, seed=seed, temperature=temperature)
        click.echo(f"wrote {len(recs)} utterances to {folder}/ "
                   f"({sum(r['seconds'] for r in recs):.1f} s, seed {seed}, temperature {temperature})")
    else:
        seconds = seconds if seconds is not None else gen.cfg.generate.seconds
        out = out or str(Path(run_dir) / "generated" / f"stream_seed{seed}.wav")
        rec = gen.write_stream(out, seconds, seed=seed, temperature=temperature, block_frames=block_frames,
                               progress=progress)
        click.echo(f"wrote {rec['path']} ({rec['seconds']:.2f} s at {gen.sample_rate} Hz, peak {rec['peak']:.2f}, "
                   f"seed {seed}, temperature {temperature})")
