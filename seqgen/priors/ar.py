"""Autoregressive prior over time: a GRU predicts frame t from frames < t with a diagonal-Gaussian mixture output."""
from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr

from .base import as_sequences, make_rng, register_prior
from .neural import EarlyStopping, NeuralPrior, seeded_init, split_train_valid, standardiser, torch_device

LOG_2PI = math.log(2.0 * math.pi)
LOG_STD_MIN, LOG_STD_MAX = -7.0, 3.0  # in standardised units; guards the NLL against collapsing components


def draw_from_mixture(logw, mu, log_std, e, temperature):
    """Sample a diagonal-Gaussian mixture per row: ``logw (B, K)``, ``mu, log_std (B, K, D)``, normals ``e (B, D + 1)``.

    ``Phi(e[:, 0])`` is uniform and picks the component (the most likely one if ``temperature == 0``),
    ``e[:, 1:]`` is the noise, scaled by ``temperature``.
    """
    B = len(logw)
    if temperature == 0:
        k = logw.argmax(axis=1)
    else:
        cdf = np.cumsum(np.exp(logw - logw.max(axis=1, keepdims=True)), axis=1)
        u = ndtr(e[:, 0]) * cdf[:, -1]
        k = np.minimum((cdf <= u[:, None]).sum(axis=1), logw.shape[1] - 1)
    rows = np.arange(B)
    return mu[rows, k] + temperature * np.exp(log_std[rows, k]) * e[:, 1:]


def mixture_log_prob(x, logw, mu, log_std):
    """``log sum_k w_k prod_d N(x_d; mu_kd, exp(log_std_kd)^2)``; ``x (..., D)``, ``logw (..., K)``, ``mu (..., K, D)``."""
    import torch

    z = (x.unsqueeze(-2) - mu) * torch.exp(-log_std)
    comp = -0.5 * (z**2).sum(-1) - log_std.sum(-1) - 0.5 * x.shape[-1] * LOG_2PI
    return torch.logsumexp(logw + comp, dim=-1)


# ----------------------------------------------------------------------------- network
def _build_net(dim: int, hidden: int, n_layers: int, n_mix: int):
    import torch
    from torch import nn

    class ARNet(nn.Module):
        """GRU over the previous frames -> mixture of ``n_mix`` diagonal Gaussians for the next frame."""

        def __init__(self):
            super().__init__()
            self.start = nn.Parameter(torch.zeros(dim))  # input standing in for frame -1
            self.rnn = nn.GRU(dim, hidden, n_layers, batch_first=True)
            self.head = nn.Linear(hidden, n_mix * (1 + 2 * dim))

        def forward(self, inp, h=None):
            """``inp (B, T, D)`` previous frames -> ``(logw (B,T,K), mu (B,T,K,D), log_std), h``."""
            out, h = self.rnn(inp, h)
            p = self.head(out)
            B, T = p.shape[:2]
            logw = torch.log_softmax(p[..., :n_mix], dim=-1)
            mu = p[..., n_mix : n_mix * (1 + dim)].reshape(B, T, n_mix, dim)
            log_std = p[..., n_mix * (1 + dim) :].reshape(B, T, n_mix, dim).clamp(LOG_STD_MIN, LOG_STD_MAX)
            return (logw, mu, log_std), h

    return ARNet()


@register_prior("ar")
class ARPrior(NeuralPrior):
    """``p(z_1..T) = prod_t p(z_t | z_<t)``, each factor a K-component diagonal-Gaussian mixture (an MDN,
    Bishop 1994) on the state of a causal GRU fed the previous frame (a learned start vector for t = 0).

    A neural sequence prior for the latent space of Subakan et al. (their alternative to an HMM prior).
    Latents are standardised per dimension before the network; densities are reported in the original
    units (minus ``sum(log scale_)`` per frame). Trained by maximum likelihood with Adam on padded,
    masked minibatches; early stopping on ``valid_fraction`` of the sequences (best epoch kept).
    Sequences longer than ``train_window`` are cut into windows for training (each window starts from
    a zero GRU state fed the true previous frame); densities and sampling always use the full history.

    Fitted: ``net_`` (torch module), ``shift_, scale_ (D,)``, ``history_`` (train log-likelihood per
    frame, index 0 = the untrained model), ``valid_history_``, ``best_epoch_``.
    """

    def __init__(
        self,
        hidden: int = 256,
        n_layers: int = 1,
        n_mix: int = 8,
        max_epochs: int = 30,
        batch_size: int = 16,
        lr: float = 2e-3,
        weight_decay: float = 0.0,
        grad_clip: float = 5.0,
        valid_fraction: float = 0.1,
        patience: int = 5,
        train_window: int = 512,
        seed: int | None = 0,
        device: str = "cpu",
    ):
        for name, v, lo in [("hidden", hidden, 1), ("n_layers", n_layers, 1), ("n_mix", n_mix, 1),
                            ("max_epochs", max_epochs, 0), ("batch_size", batch_size, 1),
                            ("patience", patience, 1), ("train_window", train_window, 2)]:
            if int(v) != v or v < lo:
                raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
        if not lr > 0 or not weight_decay >= 0 or not grad_clip > 0:
            raise ValueError(f"need lr > 0, weight_decay >= 0, grad_clip > 0; got {lr}, {weight_decay}, {grad_clip}")
        if not 0 <= valid_fraction < 1:
            raise ValueError(f"valid_fraction must be in [0, 1), got {valid_fraction}")
        self.hidden, self.n_layers, self.n_mix = int(hidden), int(n_layers), int(n_mix)
        self.max_epochs, self.batch_size, self.lr = int(max_epochs), int(batch_size), float(lr)
        self.weight_decay, self.grad_clip = float(weight_decay), float(grad_clip)
        self.valid_fraction, self.patience, self.train_window = float(valid_fraction), int(patience), int(train_window)
        self.seed = seed
        self.device = str(device)

    def to(self, device: str) -> "ARPrior":
        """Move the network (and future training / sampling) to ``device``."""
        self.device = str(device)
        if hasattr(self, "net_"):
            self.net_.to(torch_device(self.device))
        return self

    # ----------------------------------------------------------------- fitting
    def _new_net(self):
        return seeded_init(lambda: _build_net(self.dim_, self.hidden, self.n_layers, self.n_mix), self.seed)

    def _windows(self, seqs):
        """Cut standardised sequences into ``(inputs, targets, starts_at_0)`` training windows."""
        out = []
        W = self.train_window
        for x in seqs:
            for s in range(0, len(x), W):
                tgt = x[s : s + W]
                inp = np.concatenate([np.zeros((1, x.shape[1])), x[s : s + len(tgt) - 1]]) if s == 0 else x[s - 1 : s + len(tgt) - 1]
                out.append((inp.astype(np.float32), tgt.astype(np.float32), s == 0))
        return out

    def _batch_lp(self, windows):
        """Per-window summed log-density ``(B,)`` (standardised units) and frame count of a padded minibatch."""
        import torch
        from torch.nn.utils.rnn import pad_sequence

        dev = next(self.net_.parameters()).device
        inp = pad_sequence([torch.from_numpy(w[0]) for w in windows], batch_first=True).to(dev)
        tgt = pad_sequence([torch.from_numpy(w[1]) for w in windows], batch_first=True).to(dev)
        lens = torch.tensor([len(w[1]) for w in windows], device=dev)
        mask = (torch.arange(tgt.shape[1], device=dev)[None] < lens[:, None]).float()
        first = torch.tensor([w[2] for w in windows], device=dev)
        # frame 0 of a sequence is predicted from the learned start vector
        inp[:, 0] = torch.where(first[:, None], self.net_.start.expand(len(windows), -1), inp[:, 0])
        params, _ = self.net_(inp)
        return (mixture_log_prob(tgt, *params) * mask).sum(1), mask.sum()

    def _batch_nll(self, windows):
        lp, n = self._batch_lp(windows)
        return -lp.sum(), n

    def _mean_nll(self, windows) -> float:
        import torch

        if not windows:
            return float("nan")
        self.net_.eval()
        tot, n = 0.0, 0.0
        with torch.no_grad():
            for i in range(0, len(windows), self.batch_size * 4):
                s, c = self._batch_nll(windows[i : i + self.batch_size * 4])
                tot, n = tot + s.item(), n + c.item()
        return tot / n

    def _fit(self, seqs, progress):
        import torch
        from tqdm.auto import tqdm

        rng = np.random.default_rng(self.seed)
        self.shift_, self.scale_ = standardiser(np.concatenate(seqs))
        norm = [(s - self.shift_) / self.scale_ for s in seqs]
        tr_idx, va_idx = split_train_valid(len(norm), self.valid_fraction, rng)
        train = self._windows([norm[i] for i in tr_idx])
        valid = self._windows([norm[i] for i in va_idx])
        self.net_ = self._new_net().to(torch_device(self.device))
        opt = torch.optim.Adam(self.net_.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        log_scale = float(np.log(self.scale_).sum())

        # history in original units (log-likelihood per frame), index 0 = untrained network
        self.history_ = [-self._mean_nll(train) - log_scale]
        self.valid_history_ = [-self._mean_nll(valid) - log_scale] if valid else []
        stopper = EarlyStopping(self.net_, self.patience)
        lengths = np.array([len(w[1]) for w in train])
        bar = tqdm(range(1, self.max_epochs + 1), desc="ar prior", disable=not progress, leave=False)
        for epoch in bar:
            # length-bucketed batches (little padding), in random order
            order = np.lexsort((rng.random(len(train)), lengths))
            batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
            self.net_.train()
            tot, n = 0.0, 0.0
            for b in rng.permutation(len(batches)):
                nll, cnt = self._batch_nll([train[i] for i in batches[b]])
                opt.zero_grad()
                (nll / cnt).backward()
                torch.nn.utils.clip_grad_norm_(self.net_.parameters(), self.grad_clip)
                opt.step()
                tot, n = tot + nll.item(), n + cnt.item()
            self.history_.append(-tot / n - log_scale)
            monitor = tot / n
            if valid:
                monitor = self._mean_nll(valid)
                self.valid_history_.append(-monitor - log_scale)
            bar.set_postfix(train=f"{tot / n + log_scale:.3f}", valid=f"{monitor + log_scale:.3f}")
            if stopper.step(-monitor, epoch):
                break
        bar.close()
        stopper.restore()
        self.best_epoch_ = stopper.best_epoch
        self.net_.eval()
        self.history_ = np.asarray(self.history_)
        self.valid_history_ = np.asarray(self.valid_history_)

    # ----------------------------------------------------------------- density
    def _log_prob_sequences(self, seqs):
        import torch

        # whole sequences (no training windows): the density uses the full history
        wins = [(np.concatenate([np.zeros((1, s.shape[1])), s[:-1]]).astype(np.float32), s.astype(np.float32), True)
                for s in ((x - self.shift_) / self.scale_ for x in seqs)]
        order = np.argsort([len(w[1]) for w in wins], kind="stable")
        out = np.empty(len(seqs))
        self.net_.eval()
        with torch.no_grad():
            for i in range(0, len(order), self.batch_size * 4):
                idx = order[i : i + self.batch_size * 4]
                out[idx] = self._batch_lp([wins[j] for j in idx])[0].double().cpu().numpy()
        return out - np.array([len(x) for x in seqs]) * np.log(self.scale_).sum()

    # ----------------------------------------------------------------- sampling
    def _step(self, inp, h, rng, temperature):
        """One frame for each row of ``inp (B, D)`` (standardised, float32 tensor) -> (frame (B, D) float64, h)."""
        import torch

        with torch.no_grad():
            (logw, mu, log_std), h = self.net_(inp[:, None], h)
        e = rng.standard_normal((len(inp), self.dim_ + 1))
        x = draw_from_mixture(logw[:, 0].double().cpu().numpy(), mu[:, 0].double().cpu().numpy(),
                              log_std[:, 0].double().cpu().numpy(), e, temperature)
        return x, h

    def _start(self, B):
        return self.net_.start.detach().expand(B, -1)

    def _sample(self, lengths, rng, temperature):
        import torch

        self.net_.eval()
        B, dev = len(lengths), next(self.net_.parameters()).device
        lens = np.asarray(lengths)
        out = np.zeros((B, lens.max(), self.dim_))
        inp, h = self._start(B), None
        for t in range(lens.max()):
            x, h = self._step(inp, h, rng, temperature)
            out[:, t] = x
            inp = torch.as_tensor(x, dtype=torch.float32, device=dev)
        return [out[i, :T] * self.scale_ + self.shift_ for i, T in enumerate(lens)]

    def sample_stream(self, seed=None, temperature: float = 1.0, block_frames: int = 64, context=None):
        """Endless ``(block_frames, D)`` blocks of one sequence; the GRU state is carried across blocks,
        so the concatenation does not depend on ``block_frames``. ``context (T, D)`` is run through
        the network first and the stream continues it."""
        import torch

        self._check_fitted()
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        if int(block_frames) < 1:
            raise ValueError(f"block_frames must be >= 1, got {block_frames}")
        rng = make_rng(seed)
        dev = next(self.net_.parameters()).device
        self.net_.eval()
        inp, h = self._start(1), None
        if context is not None:
            ctx = self._check_dim(as_sequences(np.asarray(context, dtype=np.float64)))[0]
            ctx = torch.as_tensor((ctx - self.shift_) / self.scale_, dtype=torch.float32, device=dev)
            with torch.no_grad():  # consume start, c_0 .. c_{T-2}; c_{T-1} is the next input
                _, h = self.net_(torch.cat([inp, ctx[:-1]])[None], None)
            inp = ctx[-1:]
        while True:
            block = np.empty((int(block_frames), self.dim_))
            for t in range(len(block)):
                x, h = self._step(inp, h, rng, float(temperature))
                block[t] = x[0] * self.scale_ + self.shift_
                inp = torch.as_tensor(x, dtype=torch.float32, device=dev)
            yield block

