"""The streaming contract shared by every stateful layer.

A causal windowed layer (an STFT frame, a strided conv, a dilated conv) reads a window
of `span` input frames and advances by `stride`. Offline it sees the whole sequence
left-padded with `span - stride` zeros. Streaming, it keeps a ring buffer of the last
`span - 1` input frames (zeros at the start, which *is* the left padding) and a phase:
how many frames of the current stride group have arrived. Both are preallocated and
never grow, so a stream of any length costs constant memory.

Chunks of a batch may have different lengths (`lengths`, on the CPU; None when every
entry is full, the common case, which skips all bookkeeping); outputs are then
padded to the longest and carry their own lengths, like torchaudio's Emformer
`infer(input, lengths, states) -> (output, lengths, states)`. Padded frames never reach
a state: every state update is a gather that ends at each entry's own last valid frame.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from torch import Tensor

State = dict[str, Tensor]


def sub_state(state: State, prefix: str) -> State:
    """The part of a flat state dict that belongs to one child module."""
    p = prefix + "."
    return {k[len(p):]: v for k, v in state.items() if k.startswith(p)}


def with_prefix(prefix: str, state: State) -> State:
    return {f"{prefix}.{k}": v for k, v in state.items()}


def full_lengths(x: Tensor, time_dim: int = -1) -> Tensor:
    return torch.full((x.shape[0],), x.shape[time_dim], dtype=torch.long)


def to_device(t: Tensor, device: torch.device) -> Tensor:
    """A CPU tensor (lengths, targets) on `device` without waiting for the GPU. A plain copy to CUDA waits for
    every kernel queued before it, and the lengths are copied at every masked layer: from pinned memory the copy
    joins the queue instead."""
    if device.type != "cuda" or t.is_cuda:
        return t.to(device)
    return t.pin_memory().to(device, non_blocking=True)


def gather_time(x: Tensor, start: Tensor, n: int, time_dim: int = -1) -> Tensor:
    """x[b, start[b] : start[b] + n] along the time axis for every b (zeros past the end)."""
    x = x.movedim(time_dim, -1)
    short = int(start.max()) + n - x.shape[-1] if len(start) else 0
    if short > 0:
        x = nn.functional.pad(x, (0, short))
    idx = to_device(start, x.device).view(-1, *([1] * (x.dim() - 1))) + torch.arange(n, device=x.device)
    return torch.gather(x, -1, idx.expand(*x.shape[:-1], n)).movedim(-1, time_dim)


class CausalWindow:
    """Ring-buffer bookkeeping for a causal layer of window `span` and `stride`.

    `step` returns the input that a plain (unpadded) windowed op with that stride turns
    into exactly the new outputs, the number of valid outputs per entry, and the new
    state. The layer itself only applies its op.
    """

    def __init__(self, span: int, stride: int = 1, time_dim: int = -1):
        assert span >= stride >= 1
        self.span, self.stride = span, stride
        self.buffer_frames = span - 1
        self.time_dim = time_dim

    def init_state(self, batch: int, feature_shape: tuple[int, ...], device=None, dtype=None) -> State:
        shape = [batch, *feature_shape]
        shape.insert(self.time_dim if self.time_dim >= 0 else len(shape) + 1 + self.time_dim, self.buffer_frames)
        state = {"buf": torch.zeros(*shape, device=device, dtype=dtype)}
        if self.stride > 1:
            # Host-side so output sizes are known without a device sync.
            state["phase"] = torch.zeros(batch, dtype=torch.long)
        return state

    def offline_padding(self, kind: str = "causal") -> tuple[int, int]:
        """(left, right) zeros for the offline path: all on the left for a causal layer (the
        same zeros the ring buffer starts with), split for a "same"-padded one."""
        total = self.span - self.stride
        return (total, 0) if kind == "causal" else (total // 2, total - total // 2)

    def pad_offline(self, x: Tensor, kind: str = "causal") -> Tensor:
        return pad_time(x, *self.offline_padding(kind), self.time_dim)

    def out_lengths_offline(self, lengths: Tensor) -> Tensor:
        return lengths // self.stride

    def step(self, x: Tensor, lengths: Tensor | None, state: State) -> tuple[Tensor, Tensor, State]:
        td = self.time_dim
        batch, t = x.shape[0], x.shape[td]
        buf = state["buf"]
        combined = torch.cat([buf, x.to(buf.dtype)], dim=td)  # span-1+T frames
        if lengths is None:  # every entry has all T frames
            new_buf = combined.narrow(td, t, self.buffer_frames)
        else:
            new_buf = gather_time(combined, lengths, self.buffer_frames, td)
        new_state = {"buf": new_buf.contiguous()}
        if self.stride == 1:
            return combined, lengths, new_state

        # Phases, lengths and counts are a handful of host-side integers per stream: Python
        # arithmetic on them costs less than a tensor op each, which a small chunk notices.
        phases = state["phase"].tolist()
        lens = [t] * batch if lengths is None else lengths.tolist()
        totals = [p + n for p, n in zip(phases, lens)]
        counts = [s // self.stride for s in totals]
        new_state["phase"] = torch.tensor([s % self.stride for s in totals], dtype=torch.long)
        # The first new window of entry b starts `stride - 1 - phase[b]` frames into
        # `combined`; shift every entry so that all of them start at 0.
        offsets = [self.stride - 1 - p for p in phases]
        n = combined.shape[td]
        if all(o == offsets[0] for o in offsets):
            o = offsets[0] if batch else 0
            window_input = combined.narrow(td, o, n - o)
        else:
            window_input = gather_time(combined, torch.tensor(offsets, dtype=torch.long), n, td)
        # Trim to exactly max(counts) windows so outputs never include a partial group.
        max_count = max(counts, default=0)
        needed = (max_count - 1) * self.stride + self.span if max_count > 0 else 0
        window_input = window_input.narrow(td, 0, min(needed, window_input.shape[td]))
        uniform = all(c == max_count for c in counts)
        return window_input, (None if uniform else torch.tensor(counts, dtype=torch.long)), new_state


def mask_time(x: Tensor, lengths: Tensor | None, time_dim: int = -1) -> Tensor:
    """Zeros past each entry's length: a layer that reads the future then sees, in a batch,
    the zero padding it sees when the recording runs alone."""
    if lengths is None:
        return x
    t = torch.arange(x.shape[time_dim], device=x.device)
    keep = t[None, :] < to_device(lengths, x.device)[:, None]  # [B, T]
    shape = [x.shape[0]] + [1] * (x.dim() - 1)
    shape[time_dim] = x.shape[time_dim]
    return x * keep.view(shape).to(x.dtype)


def pad_time(x: Tensor, left: int, right: int, time_dim: int = -1) -> Tensor:
    if time_dim in (-1, x.dim() - 1):
        return nn.functional.pad(x, (left, right))
    return nn.functional.pad(x.movedim(time_dim, -1), (left, right)).movedim(-1, time_dim)


class StreamingModule(nn.Module):
    """A layer with both paths of the contract.

    forward(x, lengths) -> (y, lengths): offline, the whole sequence.
    step(x, lengths, state) -> (y, lengths, state): one chunk of any length >= 0.
    init_state(batch, device) -> state: zeros; exactly what `step` needs, preallocated.
    """

    def init_state(self, batch: int, device=None) -> State:  # pragma: no cover - interface
        raise NotImplementedError

    def step(self, x: Tensor, lengths: Tensor | None, state: State):  # pragma: no cover - interface
        raise NotImplementedError


def state_bytes(state: State) -> int:
    return sum(t.numel() * t.element_size() for t in state.values())
