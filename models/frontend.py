"""Streaming log-mel frontend: 16 kHz, 25 ms Hann window, 10 ms hop, 80 mel bins.

Framing is causal: frame j covers samples [j*hop - (win-hop), j*hop + hop), the history
before the start being zeros, so the first frame is out after 10 ms and a stream needs
only `win - 1` samples of state. The mel filterbank is torchaudio's; normalisation
statistics are fixed buffers saved with the weights (per-utterance statistics would
need the future and break streaming).
"""

from __future__ import annotations

import torch
import torchaudio.functional as AF
from torch import Tensor

from .streaming import CausalWindow, State, StreamingModule, to_device


class LogMelFrontend(StreamingModule):
    def __init__(self, sample_rate: int = 16000, win_ms: float = 25.0, hop_ms: float = 10.0,
                 n_mels: int = 80, n_fft: int = 512, f_min: float = 20.0, f_max: float | None = None):
        super().__init__()
        self.sample_rate = sample_rate
        self.win = int(round(sample_rate * win_ms / 1000))
        self.hop = int(round(sample_rate * hop_ms / 1000))
        self.n_fft = max(n_fft, self.win)
        self.n_mels = n_mels
        self.window = CausalWindow(self.win, self.hop)
        self.register_buffer("hann", torch.hann_window(self.win, periodic=True), persistent=False)
        fb = AF.melscale_fbanks(self.n_fft // 2 + 1, f_min, f_max or sample_rate / 2, n_mels, sample_rate,
                                norm="slaney", mel_scale="slaney")
        self.register_buffer("mel_fb", fb, persistent=False)
        # Fixed normalisation, estimated once over training audio and stored with the weights.
        self.register_buffer("mean", torch.zeros(n_mels))
        self.register_buffer("std", torch.ones(n_mels))

    def _frames_to_logmel(self, samples: Tensor, mel_fb: Tensor | None = None) -> Tensor:
        """[B, N] samples whose windows start every hop -> [B, n_mels, frames]."""
        if samples.shape[-1] < self.win:
            return samples.new_zeros(samples.shape[0], self.n_mels, 0)
        frames = samples.unfold(-1, self.win, self.hop) * self.hann  # [B, T, win]
        spec = torch.fft.rfft(frames, n=self.n_fft)
        power = (spec * spec.conj()).real  # |X|^2 without abs's square root: a quarter of the time
        mel = power @ (self.mel_fb if mel_fb is None else mel_fb)
        logmel = torch.log(mel + 1e-6)
        return ((logmel - self.mean) / self.std).transpose(1, 2)

    def forward(self, samples: Tensor, lengths: Tensor | None = None,
                mel_fb: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """`mel_fb` ([B, freqs, n_mels]) replaces the filterbank per utterance: training's VTLP."""
        out_lengths = None if lengths is None else self.window.out_lengths_offline(lengths)
        return self._frames_to_logmel(self.window.pad_offline(samples), mel_fb), out_lengths

    def init_state(self, batch: int, device=None) -> State:
        return self.window.init_state(batch, (), device=device, dtype=self.mean.dtype)

    def step(self, samples: Tensor, lengths: Tensor | None, state: State):
        window_input, lengths, state = self.window.step(samples, lengths, state)
        return self._frames_to_logmel(window_input), lengths, state

    @torch.no_grad()
    def set_normalisation(self, mean: Tensor, std: Tensor) -> None:
        self.mean.copy_(mean)
        self.std.copy_(std.clamp_min(1e-3))


def vtlp_filterbanks(mel_fb: Tensor, alphas: Tensor, sample_rate: int, f_hi: float = 4800.0) -> Tensor:
    """Vocal-tract-length perturbation (Jaitly & Hinton, 2013): one warped filterbank per alpha.

    The frequency axis is warped piecewise linearly, f -> alpha * f up to a boundary, then
    linearly onto Nyquist, so formants move by alpha while the band edges stay put. Filter m
    of the warped bank reads H_m(warp(f)), i.e. the mel energies of the warped spectrum.
    [freqs, n_mels], [B] -> [B, freqs, n_mels].
    """
    n_freqs = mel_fb.shape[0]
    nyquist = sample_rate / 2
    f = torch.linspace(0, nyquist, n_freqs, device=mel_fb.device)
    a = to_device(alphas, mel_fb.device).to(mel_fb.dtype)[:, None]
    boundary = f_hi * a.clamp(max=1) / a
    above = nyquist - (nyquist - f_hi * a.clamp(max=1)) / (nyquist - boundary) * (nyquist - f)
    warped = torch.where(f <= boundary, a * f, above)
    pos = (warped / nyquist * (n_freqs - 1)).clamp(0, n_freqs - 1)
    lo = pos.floor().long()
    hi = (lo + 1).clamp(max=n_freqs - 1)
    frac = (pos - lo)[..., None]
    return mel_fb[lo] * (1 - frac) + mel_fb[hi] * frac
