"""Transposed convolutions computed as ordinary convolutions with ``stride`` output phases (polyphase).

CPU backends (oneDNN and ATen's fallback) run a transposed conv with few output channels badly: the conv
codec's last decoder layer (32 -> 1 channel, stride 8, 200 taps) took 15-25 ms of a ~100 ms training step
for ~56 frames in its forward pass alone, and 80 % of generation (``benchmarks/README.md``). As ``stride``
interleaved ordinary convolutions it is the same sum in another order, 3-5x faster. Its gradient is taken
by the library's own transposed-conv backward (:class:`PolyphaseTransposedConv`), which is fast already, so
training gets the forward speed-up with bit-identical gradients for the same input; the forward output
differs from ``F.conv_transpose1d`` by float summation order only (~1e-7 relative).

:func:`library_transposed_convs` switches training back to ``F.conv_transpose1d`` (the reference that the
tests and ``benchmarks/run_all.py`` compare against).
"""
from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F

_TRAIN_POLYPHASE = [True]


def train_polyphase() -> bool:
    """Whether training runs few-output-channel transposed convs polyphase (default) or through the library."""
    return _TRAIN_POLYPHASE[0]


@contextlib.contextmanager
def library_transposed_convs():
    """Within the block, training calls ``F.conv_transpose1d`` for every layer (the previous engine)."""
    old, _TRAIN_POLYPHASE[0] = _TRAIN_POLYPHASE[0], False
    try:
        yield
    finally:
        _TRAIN_POLYPHASE[0] = old


def polyphase_transposed_conv(x: torch.Tensor, weight: torch.Tensor, bias, stride: int) -> torch.Tensor:
    """``conv_transpose1d(x, weight, bias, stride)`` as one ordinary conv with ``stride`` output phases.

    Output sample ``m = q s + p`` of the transposed conv is ``sum_j x[j] w[q s + p - j s]``: phase ``p``
    is an ordinary convolution of ``x`` with taps ``w[r s + p]`` (``r = 0 .. ceil(K/s) - 1``), so all
    phases are one conv with ``C_out * s`` output channels, interleaved afterwards. The result is the
    same up to float summation order (and zero beyond the transposed conv's end, where the phases only
    meet zero-padded taps).
    ``x [B, Cin, L]``, ``weight [Cin, Cout, K]`` -> ``[B, Cout, (L + ceil(K/s) - 1) s]``.
    """
    c_in, c_out, K = weight.shape
    kp = -(-K // stride)
    w = F.pad(weight, (0, kp * stride - K)).view(c_in, c_out, kp, stride)
    w = w.permute(1, 3, 0, 2).flip(-1).reshape(c_out * stride, c_in, kp)
    b = None if bias is None else bias.repeat_interleave(stride)
    y = F.conv1d(F.pad(x, (kp - 1, kp - 1)), w, b)  # [B, Cout * s, L + kp - 1]
    B, _, n = y.shape
    return y.view(B, c_out, stride, n).transpose(2, 3).reshape(B, c_out, n * stride)


class PolyphaseTransposedConv(torch.autograd.Function):
    """``F.conv_transpose1d(x, weight, stride=stride)`` (no bias, no padding): polyphase forward, the
    library's transposed-conv backward (``aten.convolution_backward``, what autograd runs for
    ``conv_transpose1d``). ``x [B, Cin, L]``, ``weight [Cin, Cout, K]`` -> ``[B, Cout, (L - 1) s + K]``."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, stride: int) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        ctx.stride = stride
        return polyphase_transposed_conv(x, weight, None, stride)[..., : (x.shape[-1] - 1) * stride + weight.shape[-1]]

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, weight = ctx.saved_tensors
        s, dt = ctx.stride, grad.dtype  # under autocast the forward ran in grad's (lower) precision
        gx, gw, _ = torch.ops.aten.convolution_backward(grad.contiguous(), x.to(dt), weight.to(dt), None, [s], [0], [1],
                                                        True, [0], 1,
                                                        [ctx.needs_input_grad[0], ctx.needs_input_grad[1], False])
        return (None if gx is None else gx.to(x.dtype)), (None if gw is None else gw.to(weight.dtype)), None
