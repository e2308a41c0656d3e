"""The CTC speech recogniser, read top to bottom:

samples -> log-mel frontend -> causal conv subsampling (4x) -> [lookahead] ->
gated residual blocks (dilations 1, 2, 4, ...) -> sum of skips -> embedding -> CTC head.

`family="wavenet"` builds it causal (streams, `step` with ring-buffer state);
`family="logmel-cnn"` builds the same blocks with symmetric padding (offline only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .config import ModelConfig
from .frontend import LogMelFrontend
from .layers import ConvSubsampling, DilatedConv, GatedResidualBlock, Lookahead, receptive_field
from .streaming import State, full_lengths, sub_state, with_prefix


@dataclass
class ModelOutput:
    logits: Tensor       # [B, T, vocab] CTC logits (blank = 0)
    embeddings: Tensor   # [B, T, d_model] encoder frame embeddings
    lengths: Tensor      # [B] valid frames per entry (CPU, long)

    @classmethod
    def make(cls, logits: Tensor, embeddings: Tensor, lengths: Tensor | None) -> "ModelOutput":
        if lengths is None:
            lengths = full_lengths(logits, 1)
        return cls(logits, embeddings, lengths)


class SpeechRecogniser(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        pad = cfg.padding
        self.frontend = LogMelFrontend(cfg.sample_rate, cfg.win_ms, cfg.hop_ms, cfg.n_mels)
        self.subsample = ConvSubsampling(cfg.n_mels, cfg.subsample_channels, cfg.subsample_layers,
                                         cfg.d_model, padding=pad)
        self.lookahead = Lookahead(cfg.d_model, cfg.lookahead_frames) if cfg.lookahead_frames else None
        self.blocks = nn.ModuleList(
            GatedResidualBlock(cfg.d_model, cfg.kernel_size, d, cfg.separable, pad) for d in cfg.dilations
        )
        self.skip = nn.Linear(cfg.d_model * len(cfg.dilations), cfg.d_model)  # every block's skip 1x1, one GEMM
        self.embed = nn.Linear(cfg.d_model, cfg.d_model)
        self.ctc_head = nn.Linear(cfg.d_model, cfg.vocab_size)

    # ----- shared tail -------------------------------------------------------------
    def _head(self, gated: list[Tensor], lengths: Tensor | None, taps: dict | None) -> ModelOutput:
        emb = F.relu(self.embed(F.relu(self.skip(torch.cat(gated, dim=-1)))))
        logits = self.ctc_head(emb)
        if taps is not None:
            taps["embeddings"], taps["logits"] = emb, logits
        return ModelOutput.make(logits, emb, lengths)

    # ----- offline -----------------------------------------------------------------
    def forward_features(self, feats: Tensor, lengths: Tensor | None = None, taps: dict | None = None) -> ModelOutput:
        """From log-mel features (training applies SpecAugment here)."""
        x, lengths = self.subsample(feats, lengths)
        if x.shape[1] == 0:
            return self._empty(x.shape[0], lengths)
        if taps is not None:
            taps["subsample"] = x
        if self.lookahead is not None:
            x, lengths = self.lookahead(x, lengths)
        gated = []
        for i, block in enumerate(self.blocks):
            x, z, lengths = block(x, lengths)
            gated.append(z)
            if taps is not None:
                taps[f"block{i}"] = x
        return self._head(gated, lengths, taps)

    def forward(self, samples: Tensor, lengths: Tensor | None = None, taps: dict | None = None) -> ModelOutput:
        """Whole recordings [B, N] at cfg.sample_rate -> CTC logits."""
        feats, lengths = self.frontend(samples, lengths)
        if taps is not None:
            taps["frontend"] = feats.transpose(1, 2)
        return self.forward_features(feats, lengths, taps)

    # ----- streaming ---------------------------------------------------------------
    def init_state(self, batch: int, device=None) -> State:
        if not self.cfg.streaming:
            raise RuntimeError(f"model {self.cfg.name!r} ({self.cfg.family}) is offline-only and cannot stream")
        state = with_prefix("frontend", self.frontend.init_state(batch, device))
        state.update(with_prefix("subsample", self.subsample.init_state(batch, device)))
        if self.lookahead is not None:
            state.update(with_prefix("lookahead", self.lookahead.init_state(batch, device)))
        for i, block in enumerate(self.blocks):
            state.update(with_prefix(f"blocks.{i}", block.init_state(batch, device)))
        return state

    def _empty(self, batch: int, lengths: Tensor | None) -> ModelOutput:
        w = self.embed.weight
        if lengths is None:
            lengths = torch.zeros(batch, dtype=torch.long)
        return ModelOutput(w.new_zeros(batch, 0, self.cfg.vocab_size), w.new_zeros(batch, 0, self.cfg.d_model), lengths)

    def _step_encoder(self, x: Tensor, lengths: Tensor, state: State, new_state: State, taps: dict | None) -> ModelOutput:
        if x.shape[1] == 0:  # a chunk too short to complete an encoder frame: blocks keep their state
            new_state.update({k: v for k, v in state.items() if k.startswith("blocks.")})
            return self._empty(x.shape[0], lengths)
        gated = []
        for i, block in enumerate(self.blocks):
            x, z, lengths, s = block.step(x, lengths, sub_state(state, f"blocks.{i}"))
            new_state.update(with_prefix(f"blocks.{i}", s))
            gated.append(z)
            if taps is not None:
                taps[f"block{i}"] = x
        return self._head(gated, lengths, taps)

    def step(self, samples: Tensor, lengths: Tensor | None, state: State, taps: dict | None = None) -> tuple[ModelOutput, State]:
        """One chunk per stream: samples [B, T] (entries shorter than T give `lengths`)."""
        feats, lengths, s = self.frontend.step(samples, lengths, sub_state(state, "frontend"))
        new_state = with_prefix("frontend", s)
        if taps is not None:
            taps["frontend"] = feats.transpose(1, 2)
        x, lengths, s = self.subsample.step(feats, lengths, sub_state(state, "subsample"))
        new_state.update(with_prefix("subsample", s))
        if taps is not None:
            taps["subsample"] = x
        if self.lookahead is not None:
            x, lengths, s = self.lookahead.step(x, lengths, sub_state(state, "lookahead"))
            new_state.update(with_prefix("lookahead", s))
        return self._step_encoder(x, lengths, state, new_state, taps), new_state

    def flush(self, state: State, taps: dict | None = None) -> tuple[ModelOutput, State]:
        """End of stream: the frames that the lookahead was still waiting for (none without one)."""
        batch = state["frontend.buf"].shape[0]
        if self.lookahead is None:
            return self._empty(batch, torch.zeros(batch, dtype=torch.long)), state
        dtype = self.embed.weight.dtype
        device = self.embed.weight.device
        zeros = self.lookahead.flush_input(batch, device, dtype)
        x, lengths, s = self.lookahead.step(zeros, None, sub_state(state, "lookahead"))
        new_state = {k: v for k, v in state.items() if not k.startswith(("lookahead.", "blocks."))}
        new_state.update(with_prefix("lookahead", s))
        return self._step_encoder(x, lengths, state, new_state, taps), new_state

    # ----- facts -------------------------------------------------------------------
    def receptive_field_s(self) -> float:
        frames = receptive_field(self.cfg.kernel_size, tuple(self.cfg.dilations))
        return frames * self.cfg.frame_ms / 1000

    def context_frames(self) -> int:
        """How many frames on either side one output frame can depend on, a bound: the blocks'
        whole receptive field (causal or symmetric), the lookahead, and a frame for each
        subsampling conv and the frontend's window (each reaches less than one)."""
        blocks = receptive_field(self.cfg.kernel_size, tuple(self.cfg.dilations))
        return blocks + self.cfg.lookahead_frames + self.cfg.subsample_layers + 1

    def flops_per_second(self) -> float:
        """Multiply-adds x 2 per second of audio, counted from a 1 s forward with hooks."""
        total = 0

        def hook(mod, inp, out):
            nonlocal total
            if isinstance(mod, nn.Conv2d):
                total += 2 * out.numel() * math.prod(mod.kernel_size) * mod.in_channels // mod.groups
            elif isinstance(mod, nn.Linear):
                total += 2 * out.numel() * mod.in_features
            elif isinstance(mod, DilatedConv):
                total += 2 * out[0].numel() * mod.kernel * (1 if mod.depthwise else mod.in_ch)

        kinds = (nn.Conv2d, nn.Linear, DilatedConv)
        handles = [m.register_forward_hook(hook) for m in self.modules() if isinstance(m, kinds)]
        try:
            with torch.no_grad():
                self(torch.zeros(1, self.cfg.sample_rate, device=self.embed.weight.device))
        finally:
            for h in handles:
                h.remove()
        frames = self.cfg.sample_rate // self.frontend.hop
        fft = 2 * frames * 5 * self.frontend.n_fft * math.log2(self.frontend.n_fft)  # ~5 N log N per real FFT
        mel = 2 * frames * (self.frontend.n_fft // 2 + 1) * self.cfg.n_mels
        return total + fft + mel


@torch.no_grad()
def deepened(model: SpeechRecogniser, dilations: list[int]) -> SpeechRecogniser:
    """`model` with blocks of `dilations` added after its last: more depth for weights that have learnt
    all their size allows, without starting again. Each new block's residual projection and its columns
    of the skip projection start at zero, so the new model reads exactly as the old one (a block adds
    nothing to the residual stream or the skips), and training moves them from there: the skip columns
    first (their gradients are the new blocks' gated outputs, not zero), then each residual projection
    that a later block reads (the last block's, as in any model, feeds nothing). Everything else is copied."""
    if not dilations or any(d < 1 for d in dilations):
        raise ValueError(f"dilations to add must be positive integers, got {dilations}")
    old = model.cfg
    grown = SpeechRecogniser(replace(old, dilations=old.dilations + list(dilations))).to(model.embed.weight.device)
    weights = model.state_dict()
    skip = weights.pop("skip.weight")
    missing, unexpected = grown.load_state_dict(weights, strict=False)
    assert not unexpected and all(k.startswith("blocks.") or k == "skip.weight" for k in missing), missing
    grown.skip.weight.zero_()
    grown.skip.weight[:, : skip.shape[1]] = skip
    for block in grown.blocks[len(old.dilations):]:
        block.residual.weight.zero_()
        block.residual.bias.zero_()
    return grown


@torch.no_grad()
def widened_lookahead(model: SpeechRecogniser, frames: int) -> SpeechRecogniser:
    """The streaming `model` hearing `frames` encoder frames ahead instead of its own lookahead: more
    right context (each frame 40 ms more latency) for weights already trained, without starting again.
    The lookahead's taps for the frames it already heard are copied and the new ones, further ahead,
    start at zero (without a lookahead before, its output projection starts at zero), so the model
    reads exactly as before, offline and streamed (only later), and training moves the new taps from
    there: their gradients are the future frames through the projection, not zero (where the projection
    starts at zero, from the second step)."""
    old = model.cfg
    if not old.streaming:
        raise ValueError(f"{old.name!r} reads the whole recording (family {old.family!r}): lookahead is the "
                         "streaming family's")
    if frames < max(1, old.lookahead_frames):
        raise ValueError(f"a lookahead can only widen: {old.name!r} hears {old.lookahead_frames} frames ahead, "
                         f"asked for {frames}")
    wide = SpeechRecogniser(replace(old, lookahead_frames=frames)).to(model.embed.weight.device)
    weights = {k: v for k, v in model.state_dict().items() if not k.startswith("lookahead.")}
    missing, unexpected = wide.load_state_dict(weights, strict=False)
    assert not unexpected and all(k.startswith("lookahead.") for k in missing), missing
    taps = wide.lookahead.conv.depthwise.weight  # [frames + 1, channels]: tap j reads frame t + j
    taps.zero_()
    if model.lookahead is None:  # x + nothing: the new lookahead adds zero until it learns
        wide.lookahead.conv.pointwise.weight.zero_()
        wide.lookahead.conv.pointwise.bias.zero_()
        taps[0] = 1.0  # the frame itself passes through, so the projection has a gradient from the first step
    else:
        taps[: old.lookahead_frames + 1] = model.lookahead.conv.depthwise.weight
        wide.lookahead.conv.pointwise.load_state_dict(model.lookahead.conv.pointwise.state_dict())
    return wide
