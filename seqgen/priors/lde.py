"""Latent Density Estimator (Yoo, Lee & Kwak, §3.3): autoregressive over the dimensions of one latent vector."""
from __future__ import annotations

import copy
import math

import numpy as np
from scipy.special import ndtr

from .base import register_prior
from .neural import EarlyStopping, NeuralPrior, seeded_init, split_train_valid, standardiser, torch_device

LOG_2PI = math.log(2.0 * math.pi)
LOG_STD_MIN, LOG_STD_MAX = -7.0, 3.0  # standardised units


def n_layers(dim: int) -> int:
    """``ceil(log2 D)`` dilated layers (at least one): their receptive field ``2^L >= D`` covers all of z_<i."""
    return max(1, math.ceil(math.log2(max(dim, 2))))


def _build_net(dim: int, n_mix: int, max_filters: int | None, position_bias: bool):
    import torch
    from torch import nn

    L = n_layers(dim)
    widths = [2 ** (l + 3) if max_filters is None else min(2 ** (l + 3), max_filters) for l in range(L)]

    class LDENet(nn.Module):
        """WaveNet-style stack over the dimension axis (§3.3). The input is the latent shifted by one and
        left-padded with the learned padding vector ``p`` (``2^L`` entries), with a second channel, the
        binary mask ``m``, marking real (1) vs padded (0) entries; layer l is an unpadded ("valid") conv,
        kernel 2, dilation 2^l, 2^(l+3) gated filters, so the D outputs left after the L layers each see
        ``2^L`` inputs: output i sees p and z_<i only (causal, and every z_<i since 2^L >= D)."""

        def __init__(self):
            super().__init__()
            self.pad = nn.Parameter(torch.zeros(2**L))  # p
            self.convs, self.res, self.skips = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
            c_in = 2
            for l, w in enumerate(widths):
                self.convs.append(nn.Conv1d(c_in, 2 * w, kernel_size=2, dilation=2**l))
                self.res.append(nn.Conv1d(c_in, w, 1) if c_in != w else nn.Identity())
                self.skips.append(nn.Conv1d(w, widths[-1], 1))
                c_in = w
            # the MDN head is 1x1: per dimension i it maps features of z_<i to (pi, mu, log sigma) for z_i
            self.head = nn.Sequential(nn.ReLU(), nn.Conv1d(widths[-1], widths[-1], 1), nn.ReLU(),
                                      nn.Conv1d(widths[-1], 3 * n_mix, 1))
            self.pos = nn.Parameter(torch.zeros(3 * n_mix, dim)) if position_bias else None

        def forward(self, z, m):
            """``z, m (B, D)`` (standardised latent, mask of its real entries) -> ``logw, mu, log_std (B, D, K)``
            of p(z_i | z_<i). Entries with m = 0 (e.g. dimensions an incremental codec has not grown yet)
            enter as the padding does: value p, mask 0."""
            B, D = z.shape
            P = self.pad.shape[0]
            seq = torch.cat([self.pad.expand(B, P), z[:, :-1]], 1)  # position P - 1 + i holds z_{i-1}
            msk = torch.cat([m.new_zeros(B, P), m[:, :-1]], 1)
            seq = torch.where(msk > 0, seq, torch.cat([self.pad.expand(B, P), self.pad[-1:].expand(B, D - 1)], 1))
            h = torch.stack([seq, msk], 1)  # (B, 2, P + D - 1)
            skip = 0
            for l, (conv, res, sk) in enumerate(zip(self.convs, self.res, self.skips)):
                a, b = conv(h).chunk(2, 1)  # valid conv: the length shrinks by 2^l
                g = torch.tanh(a) * torch.sigmoid(b)  # WaveNet gated activation
                skip = sk(g[..., -D:]) + skip
                h = res(h)[..., 2**l:] + g
            p = self.head(skip)
            if self.pos is not None:
                p = p + self.pos
            logw, mu, log_std = p.transpose(1, 2).chunk(3, -1)
            return torch.log_softmax(logw, -1), mu, log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)

    return LDENet()


def _log_prob_dims(net, z, m):
    """Per-dimension ``m_i log p(z_i | z_<i)``, ``(B, D)``."""
    import torch

    logw, mu, log_std = net(z, m)
    y = (z[..., None] - mu) * torch.exp(-log_std)
    comp = logw - 0.5 * y**2 - log_std - 0.5 * LOG_2PI
    return torch.logsumexp(comp, -1) * m


@register_prior("lde")
class LDEPrior(NeuralPrior):
    """``p(z) = prod_i sum_k pi_ik N(z_i; mu_ik, sigma_ik^2)`` with ``(pi, mu, sigma)_i`` a function of ``z_<i``.

    Yoo, Lee & Kwak's latent density estimator (§3.3): a dilated causal 1-D conv net over the
    dimension axis (filter size 2, ceil(log2 D) layers, 2^(l+3) filters in layer l; ``max_filters``
    caps them, ``None`` = the paper's widths), its input padded with a learned padding vector ``p``
    and augmented with a binary mask ``m`` of real vs padded entries (so one net also scores masked /
    incrementally grown latents), a 1x1 conv MDN head with ``n_mix`` = K components (pi softmax, mu
    linear, sigma exp), Adam(lr 2e-4, betas (0.5, 0.999)). ``position_bias`` adds a learned
    per-dimension bias to the head (not in the paper; off by default). Frames are i.i.d.; latents are
    standardised per dimension first (a fixed affine map: its log-Jacobian is added back). Early
    stopping on held-out sequences (not in the paper, which trains a fixed number of epochs).

    Fitted: ``net_``, ``shift_, scale_ (D,)``, ``history_`` (train log-likelihood per frame, index 0 =
    untrained), ``valid_history_``, ``best_epoch_``.
    """

    iid_frames = True

    def __init__(
        self,
        n_mix: int = 10,
        max_filters: int | None = None,
        position_bias: bool = False,
        max_epochs: int = 30,
        batch_size: int = 128,
        lr: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        valid_fraction: float = 0.1,
        patience: int = 5,
        seed: int | None = 0,
        device: str = "cpu",
    ):
        for name, v, lo in [("n_mix", n_mix, 1), ("max_epochs", max_epochs, 0),
                            ("batch_size", batch_size, 1), ("patience", patience, 1)]:
            if int(v) != v or v < lo:
                raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
        if max_filters is not None and (int(max_filters) != max_filters or max_filters < 1):
            raise ValueError(f"max_filters must be None or an integer >= 1, got {max_filters!r}")
        betas = tuple(float(b) for b in betas)
        if not lr > 0 or len(betas) != 2 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"need lr > 0 and two betas in [0, 1); got {lr}, {betas}")
        if not 0 <= valid_fraction < 1:
            raise ValueError(f"valid_fraction must be in [0, 1), got {valid_fraction}")
        self.n_mix, self.max_filters, self.position_bias = int(n_mix), max_filters, bool(position_bias)
        self.max_epochs, self.batch_size, self.lr, self.betas = int(max_epochs), int(batch_size), float(lr), list(betas)
        self.valid_fraction, self.patience, self.seed, self.device = float(valid_fraction), int(patience), seed, str(device)

    def to(self, device: str) -> "LDEPrior":
        """Move the network (and future training / sampling) to ``device``."""
        self.device = str(device)
        if hasattr(self, "net_"):
            self.net_.to(torch_device(self.device))
            self._net64_of = None
        return self

    def _new_net(self):
        return seeded_init(lambda: _build_net(self.dim_, self.n_mix, self.max_filters, self.position_bias), self.seed)

    # ----------------------------------------------------------------- fitting
    def _frames_lp(self, Z: np.ndarray, chunk: int = 4096) -> np.ndarray:
        """log p of standardised frames ``Z (N, D)`` in standardised units, ``(N,)``."""
        import torch

        dev = next(self.net_.parameters()).device
        out = np.empty(len(Z))
        self.net_.eval()
        with torch.no_grad():
            for i in range(0, len(Z), chunk):
                z = torch.as_tensor(Z[i : i + chunk], dtype=torch.float32, device=dev)
                out[i : i + chunk] = _log_prob_dims(self.net_, z, torch.ones_like(z)).sum(1).double().cpu().numpy()
        return out

    def _fit(self, seqs, progress):
        import torch
        from tqdm.auto import tqdm

        rng = np.random.default_rng(self.seed)
        X = np.concatenate(seqs)
        self.shift_, self.scale_ = standardiser(X)
        if len(seqs) >= 2:
            tr, va = split_train_valid(len(seqs), self.valid_fraction, rng)
            train = np.concatenate([seqs[i] for i in tr])
            valid = np.concatenate([seqs[i] for i in va]) if len(va) else X[:0]
        else:  # one sequence: hold out frames (the model treats them as i.i.d. anyway)
            tr, va = split_train_valid(len(X), self.valid_fraction, rng)
            train, valid = X[tr], X[va]
        train = ((train - self.shift_) / self.scale_).astype(np.float32)
        valid = ((valid - self.shift_) / self.scale_).astype(np.float32)
        log_scale = float(np.log(self.scale_).sum())

        self.net_ = self._new_net().to(torch_device(self.device))
        dev = next(self.net_.parameters()).device
        opt = torch.optim.Adam(self.net_.parameters(), lr=self.lr, betas=tuple(self.betas))
        self.history_ = [self._frames_lp(train).mean() - log_scale]
        self.valid_history_ = [self._frames_lp(valid).mean() - log_scale] if len(valid) else []
        stopper = EarlyStopping(self.net_, self.patience)
        train_t = torch.as_tensor(train, device=dev)
        ones = torch.ones(min(self.batch_size, len(train)), self.dim_, device=dev)
        bar = tqdm(range(1, self.max_epochs + 1), desc="lde prior", disable=not progress, leave=False)
        for epoch in bar:
            self.net_.train()
            perm = torch.as_tensor(rng.permutation(len(train)), device=dev)
            tot = 0.0
            for i in range(0, len(train), self.batch_size):
                z = train_t[perm[i : i + self.batch_size]]
                lp = _log_prob_dims(self.net_, z, ones[: len(z)]).sum(1)
                opt.zero_grad()
                (-lp.mean()).backward()
                opt.step()
                tot += lp.sum().item()
            self.history_.append(tot / len(train) - log_scale)
            monitor = self.history_[-1]
            if len(valid):
                monitor = self._frames_lp(valid).mean() - log_scale
                self.valid_history_.append(monitor)
            bar.set_postfix(train=f"{-self.history_[-1]:.3f}", valid=f"{-monitor:.3f}")
            if stopper.step(monitor, epoch):
                break
        bar.close()
        stopper.restore()
        self.best_epoch_ = stopper.best_epoch
        self.net_.eval()
        self.history_, self.valid_history_ = np.asarray(self.history_), np.asarray(self.valid_history_)

    # ----------------------------------------------------------------- density / sampling
    def _log_prob_frames(self, x):
        return self._frames_lp((x - self.shift_) / self.scale_) - np.log(self.scale_).sum()

    def _sample(self, lengths, rng, temperature):
        import torch

        N, D = sum(lengths), self.dim_
        # (N, D, 2) normals, row-major: frame n uses the same normals however frames are split
        # into sequences / stream blocks. [..., 0] picks the component via Phi, [..., 1] is the noise.
        e = rng.standard_normal((N, D, 2))
        # float64 copy: float32 convolutions round differently for different batch sizes, which would
        # make a stream depend on its block size
        if getattr(self, "_net64_of", None) is not self.net_:  # cached; fit / load make a new net_
            self._net64, self._net64_of = copy.deepcopy(self.net_).double().eval(), self.net_
        net = self._net64
        dev = next(net.parameters()).device
        z = torch.zeros(N, D, dtype=torch.float64, device=dev)
        m = torch.ones_like(z)
        rows = np.arange(N)
        with torch.no_grad():
            for i in range(D):  # dimension by dimension: z_i ~ p(z_i | z_<i)
                logw, mu, log_std = (t[:, i].cpu().numpy() for t in net(z, m))
                if temperature == 0:
                    k = logw.argmax(1)
                else:
                    cdf = np.cumsum(np.exp(logw - logw.max(1, keepdims=True)), 1)
                    k = np.minimum((cdf <= (ndtr(e[:, i, 0]) * cdf[:, -1])[:, None]).sum(1), self.n_mix - 1)
                zi = mu[rows, k] + temperature * np.exp(log_std[rows, k]) * e[:, i, 1]
                z[:, i] = torch.as_tensor(zi, device=dev)
        X = z.cpu().numpy() * self.scale_ + self.shift_
        return np.split(X, np.cumsum(lengths)[:-1])

