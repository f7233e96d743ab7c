"""`seqgen generate`: sample latent sequences from the prior, decode every unit, rebuild examples, write them.

For every modality: ``examples`` — separate sequences (lengths drawn from the training lengths; 1
for images) turned back into examples by the representation (audio: overlap-add; image: the unit).
For sequential representations also ``stream`` — one long sequence of a given duration, decoded and
written in blocks so memory does not grow with the output length — and prompted continuation.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Iterator

import numpy as np

from ..audio.framing import overlap_add
from ..audio.io import StreamingWavWriter, write_wav
from ..codecs.io import decode_sequences, encode_sequences, load_codec
from ..errors import SeqgenError
from ..priors import Prior
from ..priors.base import make_rng
from ..device import resolve_device
from .build import build_representation
from .latents import label_prior, load_latents
from .run_dir import RunDir

MAX_SECONDS = 24 * 3600.0
#: file name of the i-th generated example, in a run's samples/ and in `generate --count` output alike
SAMPLE_NAME = "{prefix}_{i:04d}.{ext}"
MIN_SECONDS = 1e-3


class Generator:
    """Everything generation needs, loaded from a run directory (nothing else is read)."""

    def __init__(self, run_dir: str | Path, prior: str | None = None, device: str = "cpu", label: int | None = None,
                 decoder_noise: float | None = None):
        """``label``: use the per-label prior of that label (``train.prior_per_label``) and draw
        utterance lengths from that label's training sequences. ``decoder_noise``: std scale of the
        decoder's high-band noise (band-split models; default: the recipe's ``generate.decoder_noise``; 0 = none)."""
        self.run = RunDir(run_dir)
        self.cfg = self.run.load_config()
        self.rep = build_representation(self.cfg)
        self.modality = self.rep.modality
        self.spec = self.rep.spec if self.rep.sequential else None  # audio frame geometry
        self.sample_rate = self.rep.sample_rate
        self.device = device = resolve_device(device)
        self.model = load_codec(self.run.autoencoder, device)
        self.decoder_noise = float(self.cfg.generate.decoder_noise if decoder_noise is None else decoder_noise)
        if not (math.isfinite(self.decoder_noise) and self.decoder_noise >= 0):
            raise SeqgenError(f"decoder noise must be a number >= 0, got {decoder_noise}")
        if label is not None:  # --digit y: the run's per-label prior, or --prior NAME's (NAME_label_y)
            prior = label_prior(label, None if prior in (None, "", "default") else prior)
        self.run.check_sources(self.run.prior_path(prior))
        self.prior = Prior.load(self.run.prior_path(prior))
        lat = load_latents(self.run)
        self.mean, self.std = lat["mean"], lat["std"]
        if self.prior.dim_ != len(self.mean) or self.model.prior_dim != len(self.mean):
            raise SeqgenError(f"{self.run.path}: the prior ({self.prior.dim_}), latents ({len(self.mean)}) and "
                              f"autoencoder ({self.model.prior_dim}) disagree on the latent dimension")
        self.train_lengths = lat["train_lengths"]
        # band split: a sampled high-band envelope is kept within the range of the training frames, band by
        # band (a prior's tail, e.g. a few-state HMM at temperature 1, would otherwise decode to loud hiss)
        self.envelope_range = None
        bounded = self.model.bounded_latents()
        if bounded is not None:
            self.envelope_range = (bounded, lat["train"][:, bounded].min(0), lat["train"][:, bounded].max(0))
        if label is not None:
            self.train_lengths = self.train_lengths[lat["train_labels"] == label]

    # ------------------------------------------------------------------ latents <-> examples
    def decode(self, z_std: np.ndarray, noise_rng: np.random.Generator | None = None) -> np.ndarray:
        """Standardised latents ``(T, D)`` -> units ``(T, *unit_shape)``; with ``noise_rng`` a
        stochastic decoder's randomness (band-split noise) is drawn from it."""
        z = z_std * self.std + self.mean
        if self.envelope_range is not None:
            dims, lo, hi = self.envelope_range
            z[:, dims] = np.clip(z[:, dims], lo, hi)
        return decode_sequences(self.model, [z.astype(np.float32)], device=self.device, rng=noise_rng,
                                noise_scale=self.decoder_noise)[0]

    def to_example(self, z_std: np.ndarray, noise_rng: np.random.Generator | None = None) -> np.ndarray:
        """One latent sequence -> one example (audio: the untrimmed overlap-add, (T-1)*hop + frame_length
        samples; image: ``(C, H, W)``)."""
        x = self.rep.from_units(self.decode(z_std, noise_rng))
        if not np.isfinite(x).all():
            raise SeqgenError(f"decoded {self.modality} holds NaN or Inf: the prior or autoencoder in {self.run.path} "
                              f"is degenerate")
        return x

    # ------------------------------------------------------------------ modes
    def examples(self, count: int, seed=None, temperature: float = 1.0, lengths=None) -> list[np.ndarray]:
        """``count`` separate examples (utterances, images); sequence lengths drawn from the training
        lengths unless given."""
        return list(self.iter_examples(count, seed, temperature, lengths))

    def iter_examples(self, count: int, seed=None, temperature: float = 1.0, lengths=None) -> Iterator[np.ndarray]:
        """:meth:`examples` one at a time (only the small latents are drawn up front)."""
        if count <= 0:
            raise SeqgenError(f"--count must be positive, got {count}")
        rng = np.random.default_rng(seed)
        noise = noise_rng(rng)
        if lengths is None:
            lengths = rng.choice(self.train_lengths, size=count, replace=True)
        for z in self.prior.sample(list(lengths), seed=rng, temperature=temperature):
            yield self.to_example(z, noise)

    def _need_sequential(self, what: str) -> None:
        if not self.rep.sequential:
            raise SeqgenError(f"{what} needs a sequential (audio) run; {self.run.path} holds {self.modality} data")

    def n_frames_for_seconds(self, seconds: float) -> tuple[int, int]:
        self._need_sequential("--seconds")
        check_seconds(seconds)
        n_samples = int(round(seconds * self.sample_rate))
        n_frames = max(1, math.ceil((n_samples - self.spec.frame_length) / self.spec.hop) + 1)
        return n_frames, n_samples

    def stream(self, seconds: float, seed=None, temperature: float = 1.0, block_frames: int = 256,
               context: np.ndarray | None = None) -> Iterator[np.ndarray]:
        """Yield audio blocks of one continuous stream of ``seconds`` s.

        Overlap-add across block boundaries: a block's last ``frame_length - hop`` samples still
        await the next block's first frames, so they are carried as ``tail``. The output is the
        same whatever ``block_frames`` is.
        """
        self._need_sequential("streaming")
        n_frames, n_samples = self.n_frames_for_seconds(seconds)
        hop, N = self.spec.hop, self.spec.frame_length
        tail = np.zeros(N - hop, dtype=np.float32)
        done = emitted = 0
        noise = noise_rng(seed)
        for block in self.prior.sample_stream(seed=seed, temperature=temperature, block_frames=block_frames,
                                              context=context):
            block = block[: n_frames - done]
            done += len(block)
            ola = self.to_example(block, noise)
            ola[: N - hop] += tail
            b = len(block) * hop
            out, tail = ola[:b], ola[b:]
            out = out[: n_samples - emitted]
            emitted += len(out)
            yield out
            if done >= n_frames:
                break
        yield tail[: n_samples - emitted]

    def encode_audio(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Audio ``(T,)`` -> (windowed frames without the trailing pad frame, standardised latents)."""
        from ..audio.framing import frame

        self._need_sequential("encoding audio")
        frames = frame(x.astype(np.float32), self.spec)[:-1].astype(np.float32)
        z = encode_sequences(self.model, [frames], device=self.device)[0]
        return frames, (z - self.mean) / self.std

    def continue_audio(self, prompt: np.ndarray, seconds: float, seed=None, temperature: float = 1.0) -> np.ndarray:
        """Prompt followed by ``seconds`` s of new audio (goes beyond the paper).

        The prompt is encoded and its latents condition the prior (HMM: forward-filtered state
        posterior at the prompt's end; AR: its hidden state). The prompt's own windowed frames and
        the decoded continuation frames are overlap-added together, so the prompt's last half-window
        crossfades into the continuation and everything before it is the prompt itself.
        """
        check_seconds(seconds)
        hop, N = self.spec.hop, self.spec.frame_length
        prompt = np.asarray(prompt, dtype=np.float32)
        if len(prompt) < N:
            raise SeqgenError(f"prompt is too short: {len(prompt)} samples, need at least one frame ({N})")
        prompt = prompt[: len(prompt) // hop * hop]
        frames, z = self.encode_audio(prompt)
        n_new = math.ceil(seconds * self.sample_rate / hop)
        stream = self.prior.sample_stream(seed=seed, temperature=temperature, block_frames=n_new, context=z)
        new = self.decode(next(stream)[:n_new], noise_rng(seed))
        out = overlap_add(np.concatenate([frames, new]), self.spec)[self.spec.pad:]
        return out[: len(prompt) + int(round(seconds * self.sample_rate))].astype(np.float32)

    def write_stream(self, path: str | Path, seconds: float, seed=None, temperature: float = 1.0,
                     block_frames: int = 256, progress: bool = False) -> dict:
        """Stream ``seconds`` s into a 16-bit WAV (atomic: appears complete or not at all)."""
        from tqdm.auto import tqdm

        n_frames, _ = self.n_frames_for_seconds(seconds)
        with StreamingWavWriter(path, self.sample_rate) as w, \
                tqdm(total=round(seconds, 2), unit="s", desc="generating", disable=not progress) as bar:
            for out in self.stream(seconds, seed, temperature, block_frames):
                w.write(out)
                bar.update(round(len(out) / self.sample_rate, 2))
        return {"path": str(path), "seconds": w.n_samples / self.sample_rate, "peak": w.peak, "clipped": w.clipped}

    def write_examples(self, out_dir: str | Path, count: int, seed=None, temperature: float = 1.0,
                       prefix: str = "sample") -> list[dict]:
        """``count`` examples as separate files (WAV or PNG) in ``out_dir``."""
        out_dir = Path(out_dir)
        if self.modality == "vector":
            return [self.write_vectors(out_dir / f"{prefix}s.npy", count, seed, temperature)]
        if self.modality == "image":
            from ..outputs.image import save_images

            return [{"path": str(p)} for p in save_images(np.stack(self.examples(count, seed, temperature)),
                                                          out_dir, prefix)]
        recs = []
        for i, x in enumerate(self.iter_examples(count, seed, temperature)):  # each written as it is made
            p = out_dir / SAMPLE_NAME.format(prefix=prefix, i=i, ext="wav")
            recs.append({"path": str(p), "seconds": len(x) / self.sample_rate, **write_wav(p, x, self.sample_rate)})
        return recs

    def write_vectors(self, path: str | Path, count: int, seed=None, temperature: float = 1.0) -> dict:
        """``count`` generated vectors (or 2-d points) as one ``(count, dim)`` float32 ``.npy``."""
        from ..outputs.vector import save_vectors

        if self.modality != "vector":
            raise SeqgenError(f"vectors are for vector runs; {self.run.path} holds {self.modality} data")
        path = save_vectors(np.stack(self.examples(count, seed, temperature)), path)
        return {"path": str(path), "count": count}

    def write_grid(self, path: str | Path, count: int, seed=None, temperature: float = 1.0) -> dict:
        """``count`` generated images in one PNG grid."""
        from ..outputs.image import save_grid

        if self.modality != "image":
            raise SeqgenError(f"a grid is for image runs; {self.run.path} holds {self.modality} data")
        images = np.stack(self.examples(count, seed, temperature))
        save_grid(images, path)
        return {"path": str(path), "count": count}


def noise_rng(seed) -> np.random.Generator:
    """The decoder-noise stream of a generation seed (int, Generator or None): a child of it, so the
    prior's draws are the same with or without decoder noise, and streaming draws it frame by frame
    in the same order whatever the block size."""
    return make_rng(seed).spawn(1)[0]


def check_seconds(seconds: float) -> None:
    if not (isinstance(seconds, (int, float)) and math.isfinite(seconds)) or seconds <= 0:
        raise SeqgenError(f"--seconds must be a positive number, got {seconds}")
    if seconds < MIN_SECONDS:
        raise SeqgenError(f"--seconds {seconds:g} is shorter than {MIN_SECONDS:g} s: nothing would be written")
    if seconds > MAX_SECONDS:
        raise SeqgenError(f"--seconds {seconds:g} is more than {MAX_SECONDS:g} (24 h); generate in several files")
