"""Convolution layers with the streaming contract.

Each layer comes in two paddings: "causal" (streaming; the left padding is a ring buffer
in the state) and "same" (offline; symmetric padding, forward only).

Encoder activations are [batch, time, channels]: pointwise layers are then one GEMM
(`F.linear`) and a dilated conv is a sum over its k taps, each a shifted view times a
weight. For a 160 ms chunk (4 frames) that is a handful of small ops instead of a
framework convolution call whose set-up costs more than its arithmetic.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .streaming import (CausalWindow, State, StreamingModule, full_lengths, gather_time, mask_time, pad_time,
                        sub_state, with_prefix)

TIME = 1  # time axis of encoder activations [B, T, C]
# Up to this many output frames a depthwise conv takes its taps as one strided view (a
# streaming chunk is a few frames); beyond, one multiply-add per tap.
STRIDED_TAPS_MAX_FRAMES = 32


def _require_causal(padding: str):
    if padding != "causal":
        raise RuntimeError("a 'same'-padded layer sees the future and has no streaming step")


class DilatedConv(StreamingModule):
    """Dilated temporal conv, full (in -> out channels) or depthwise (one filter per channel).

    Causal state: a ring buffer of (kernel - 1) * dilation frames.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int, dilation: int = 1, depthwise: bool = False,
                 padding: str = "causal", bias: bool = True):
        super().__init__()
        assert padding in ("causal", "same")
        if depthwise:
            assert in_ch == out_ch
            self.weight = nn.Parameter(torch.randn(kernel, in_ch) / math.sqrt(kernel))
        else:
            self.weight = nn.Parameter(torch.randn(kernel, out_ch, in_ch) / math.sqrt(kernel * in_ch))
        self.bias = nn.Parameter(torch.zeros(out_ch)) if bias else None
        self.depthwise, self.padding = depthwise, padding
        self.kernel, self.dilation = kernel, dilation
        self.in_ch, self.out_ch = in_ch, out_ch
        self.window = CausalWindow((kernel - 1) * dilation + 1, 1, time_dim=TIME)

    def _taps(self, xp: Tensor) -> Tensor:
        """xp holds span-1 frames of context before the T frames to produce."""
        t = xp.shape[TIME] - (self.window.span - 1)
        if self.depthwise and t > STRIDED_TAPS_MAX_FRAMES:
            # Long sequences (training, files): one multiply-add per tap. Its backward is a
            # fraction of the strided view's, whose gradient scatters into overlapping windows.
            y = xp.narrow(TIME, 0, t) * self.weight[0]
            for j in range(1, self.kernel):
                y = torch.addcmul(y, xp.narrow(TIME, j * self.dilation, t), self.weight[j])
        elif self.depthwise:
            # A streaming chunk: a strided view [B, T, k, C] of the k dilated taps, 3 ops
            # whatever the kernel (fewer ops than the loop, which is what a few frames cost).
            xp = xp.contiguous()
            sb, st, sc = xp.stride()
            taps = xp.as_strided((xp.shape[0], t, self.kernel, xp.shape[2]), (sb, st, st * self.dilation, sc))
            y = (taps * self.weight).sum(2)
        else:
            y = None
            for j in range(self.kernel):
                term = F.linear(xp.narrow(TIME, j * self.dilation, t), self.weight[j])
                y = term if y is None else y + term
        return y if self.bias is None else y + self.bias

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        if self.padding == "same":  # reads the future: past the end is padding, as when run alone
            x = mask_time(x, lengths, TIME)
        return self._taps(self.window.pad_offline(x, self.padding)), lengths

    def init_state(self, batch: int, device=None) -> State:
        _require_causal(self.padding)
        return self.window.init_state(batch, (self.in_ch,), device=device, dtype=self.weight.dtype)

    def step(self, x: Tensor, lengths: Tensor | None, state: State) -> tuple[Tensor, Tensor, State]:
        _require_causal(self.padding)
        window_input, lengths, state = self.window.step(x, lengths, state)
        return self._taps(window_input), lengths, state


class SeparableConv(StreamingModule):
    """Depthwise dilated conv then a pointwise mix: kernel-times fewer multiply-adds than a full conv."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, dilation: int = 1, padding: str = "causal"):
        super().__init__()
        self.depthwise = DilatedConv(in_ch, in_ch, kernel, dilation, depthwise=True, padding=padding, bias=False)
        self.pointwise = nn.Linear(in_ch, out_ch)

    def forward(self, x, lengths=None):
        y, lengths = self.depthwise(x, lengths)
        return self.pointwise(y), lengths

    def init_state(self, batch, device=None):
        return with_prefix("depthwise", self.depthwise.init_state(batch, device))

    def step(self, x, lengths, state):
        y, lengths, dw = self.depthwise.step(x, lengths, sub_state(state, "depthwise"))
        return self.pointwise(y), lengths, with_prefix("depthwise", dw)


class GatedResidualBlock(StreamingModule):
    """WaveNet block: LayerNorm -> dilated conv -> z = tanh(filter) * sigmoid(gate) -> x + W_res z.

    Returns z too: the skip path is sum_i W_skip_i z_i, which the model computes for all
    blocks as one GEMM. The norm is per frame, so it streams. `separable` uses a
    depthwise-separable conv.
    """

    def __init__(self, channels: int, kernel: int, dilation: int, separable: bool = True, padding: str = "causal"):
        super().__init__()
        self.norm = nn.LayerNorm(channels)
        if separable:
            self.conv = SeparableConv(channels, 2 * channels, kernel, dilation, padding)
        else:
            self.conv = DilatedConv(channels, 2 * channels, kernel, dilation, padding=padding)
        self.residual = nn.Linear(channels, channels)

    def _finish(self, x: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        f, g = h.chunk(2, dim=-1)
        z = torch.tanh(f) * torch.sigmoid(g)
        return x + self.residual(z), z

    def forward(self, x, lengths=None):
        h, lengths = self.conv(self.norm(x), lengths)
        out, z = self._finish(x, h)
        return out, z, lengths

    def init_state(self, batch, device=None):
        return with_prefix("conv", self.conv.init_state(batch, device))

    def step(self, x, lengths, state):
        h, lengths, conv_state = self.conv.step(self.norm(x), lengths, sub_state(state, "conv"))
        out, z = self._finish(x, h)
        return out, z, lengths, with_prefix("conv", conv_state)


class ConvSubsampling(StreamingModule):
    """Conv2D over (mel, time), stride 2 in both, repeated: 4x fewer frames for two layers.

    Input log-mel [B, n_mels, T]; output [B, T', out_dim]. Causal in time (ring buffer
    of kernel-1 frames of every mel row plus the stride remainder), symmetric in
    frequency (frequency is not time). Ends in a projection of channels x mel bins.
    """

    def __init__(self, n_mels: int, channels: int, layers: int, out_dim: int, kernel: int = 3, padding: str = "causal"):
        super().__init__()
        self.padding = padding
        self.convs = nn.ModuleList()
        self.windows = []
        self.in_shapes = []
        c_in, f = 1, n_mels
        for _ in range(layers):
            self.convs.append(nn.Conv2d(c_in, channels, (kernel, kernel), stride=(2, 2), padding=(kernel // 2, 0)))
            self.windows.append(CausalWindow(kernel, 2))
            self.in_shapes.append((c_in, f))
            c_in, f = channels, (f + 2 * (kernel // 2) - kernel) // 2 + 1
        self.project = nn.Linear(channels * f, out_dim)
        self.out_dim = out_dim

    def _project(self, x: Tensor) -> Tensor:
        b, c, f, t = x.shape
        return self.project(x.reshape(b, c * f, t).transpose(1, 2))

    def _empty(self, feats: Tensor) -> Tensor:
        return feats.new_zeros(feats.shape[0], 0, self.out_dim)

    def forward(self, feats: Tensor, lengths: Tensor | None = None):
        x = feats.unsqueeze(1)
        for conv, window in zip(self.convs, self.windows):
            if self.padding == "same":
                x = mask_time(x, lengths)
            lengths = None if lengths is None else window.out_lengths_offline(lengths)
            if x.shape[-1] + sum(window.offline_padding(self.padding)) < window.span:
                return self._empty(feats), lengths
            x = F.relu(conv(window.pad_offline(x, self.padding)))
        return self._project(x), lengths

    def init_state(self, batch, device=None):
        _require_causal(self.padding)
        state = {}
        dtype = self.project.weight.dtype
        for i, (window, shape) in enumerate(zip(self.windows, self.in_shapes)):
            state.update(with_prefix(str(i), window.init_state(batch, shape, device=device, dtype=dtype)))
        return state

    def step(self, feats: Tensor, lengths: Tensor | None, state: State):
        x = feats.unsqueeze(1)
        new_state = {}
        for i, (conv, window) in enumerate(zip(self.convs, self.windows)):
            window_input, lengths, s = window.step(x, lengths, sub_state(state, str(i)))
            new_state.update(with_prefix(str(i), s))
            if window_input.shape[-1] < window.span:
                # Not a whole output frame yet: later layers receive nothing and keep their state.
                for j in range(i + 1, len(self.convs)):
                    new_state.update(with_prefix(str(j), sub_state(state, str(j))))
                return self._empty(feats), lengths, new_state
            x = F.relu(conv(window_input))
        return self._project(x), lengths, new_state


class Lookahead(StreamingModule):
    """Right context for the streaming model: each output sees `frames` future frames.

    Offline: a residual separable conv over [t, t + frames]. Streaming: the same conv run
    causally is `frames` behind, so the first `frames` outputs are dropped (a per-stream
    counter) and `flush` feeds `frames` zeros at the end, which is what the offline right
    padding holds. Latency cost: `frames` encoder frames.
    """

    def __init__(self, channels: int, frames: int):
        super().__init__()
        assert frames >= 1
        self.frames = frames
        self.conv = SeparableConv(channels, channels, frames + 1, padding="causal")
        self.channels = channels

    def forward(self, x, lengths=None):
        y, _ = self.conv(pad_time(mask_time(x, lengths, TIME), 0, self.frames, TIME))
        return x + y.narrow(TIME, self.frames, x.shape[TIME]), lengths

    def init_state(self, batch, device=None):
        state = with_prefix("conv", self.conv.init_state(batch, device))
        state["pending"] = torch.full((batch,), self.frames, dtype=torch.long)
        state["x_buf"] = torch.zeros(batch, self.frames, self.channels, device=device,
                                     dtype=self.conv.pointwise.weight.dtype)
        return state

    def step(self, x, lengths, state):
        if x.shape[TIME] == 0:
            return x, lengths, state
        y, _, conv_state = self.conv.step(x, lengths, sub_state(state, "conv"))
        # The residual needs x delayed by `frames` too: a ring buffer of the last `frames` inputs.
        xs = torch.cat([state["x_buf"], x], dim=TIME)
        if lengths is None:
            lengths = full_lengths(x, TIME)
            new_x_buf = xs.narrow(TIME, x.shape[TIME], self.frames)
        else:
            new_x_buf = gather_time(xs, lengths, self.frames, TIME)
        out = xs.narrow(TIME, 0, x.shape[TIME]) + y
        pending = state["pending"]
        drop = torch.minimum(pending, lengths)
        new_lengths = lengths - drop
        n = int(new_lengths.max()) if len(lengths) else 0
        if n > 0 and bool((drop == drop[0]).all()):
            out = out.narrow(TIME, int(drop[0]), n)
        elif n > 0:
            out = gather_time(out, drop, n, TIME)
        else:
            out = out.narrow(TIME, 0, 0)
        new_state = with_prefix("conv", conv_state)
        new_state["pending"] = pending - drop
        new_state["x_buf"] = new_x_buf.contiguous()
        return out, new_lengths, new_state

    def flush_input(self, batch: int, device=None, dtype=None) -> Tensor:
        return torch.zeros(batch, self.frames, self.channels, device=device, dtype=dtype)


def receptive_field(kernel: int, dilations: tuple[int, ...]) -> int:
    return 1 + sum((kernel - 1) * d for d in dilations)
