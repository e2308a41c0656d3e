"""Training data: manifests, on-the-fly augmentation, length-bucketed batches.

A manifest is JSON lines, one utterance each:
    {"audio": "<path relative to the manifest's folder>", "text": "<normalised>", "duration": seconds, ...}
(the format of ../shared/data/real/*.jsonl). Several manifests mix with weights.
"""

from __future__ import annotations

import json
import math
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF

from .audio import read_audio
from .audio_files import audio_files


@dataclass
class Utterance:
    audio: Path
    text: str
    duration: float
    speaker: str = ""


def manifest_audio(manifest: str | Path, audio: str) -> Path:
    """Where a manifest line's audio is: relative to the manifest's folder (an absolute path stays)."""
    return (Path(manifest).parent / audio).resolve()


def read_manifest(path: str | Path) -> list[Utterance]:
    path = Path(path)
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            audio = manifest_audio(path, d["audio"])
            duration = float(d.get("duration") or sf.info(str(audio)).duration)
            rows.append(Utterance(audio, d["text"], duration, str(d.get("speaker", ""))))
        except (KeyError, ValueError, TypeError) as e:
            raise ValueError(f"{path}:{n}: not a manifest line ({e}): {line[:80]!r}") from None
    return rows


@dataclass
class Augment:
    """Makes clean or synthetic speech sound like real recordings. Probabilities per utterance."""

    speed: tuple[float, ...] = (0.9, 1.0, 1.1)
    noise_files: list[Path] = field(default_factory=list)
    noise_prob: float = 0.5
    snr_db: tuple[float, float] = (5.0, 30.0)
    rir_files: list[Path] = field(default_factory=list)
    rir_prob: float = 0.3
    telephone_prob: float = 0.1
    narrowband_prob: float = 0.2      # 8 kHz recordings (FSDD) upsampled: nothing above 4 kHz
    gain_db: tuple[float, float] = (-12.0, 6.0)
    # Absolute level: a share of utterances is scaled to a random RMS in dBFS, whatever its source's
    # level. Relative gain alone leaves few utterances as quiet as a quiet microphone: the sources
    # average -16 to -27 dBFS, an FSDD speaker -42 (scripts/recipe_data.py levels).
    level_prob: float = 0.5
    level_dbfs: tuple[float, float] = (-55.0, -15.0)
    # Exact zeros before and/or after: files and muted microphones have them, and log-mel puts
    # them far below any recorded silence.
    digital_silence_prob: float = 0.15
    digital_silence_s: tuple[float, float] = (0.1, 0.6)
    # Speech from the first frame: tightly cut clips (FSDD, many files) lack the silence synthetic
    # sentences start with, and a causal model that never heard such a start misreads it. Off by
    # default (no draw at 0: the recorded runs replay as they were).
    lead_trim_prob: float = 0.0
    lead_keep_s: tuple[float, float] = (0.0, 0.05)
    # A microphone's floor under everything, the pads included: hiss a drawn number of dB under the
    # utterance's level, white or darkened by a low-pass. The noise files above end where the clip
    # does and the pads stay exact zeros, so without this a model never hears a steady floor where
    # nothing is said (and reads a quiet talker's hiss as an s). Off by default: runs replay.
    floor_prob: float = 0.0
    floor_below_db: tuple[float, float] = (15.0, 40.0)
    _cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_dirs(cls, noise_dir: str | None, rir_dir: str | None, **kw) -> "Augment":
        return cls(noise_files=audio_files(noise_dir) if noise_dir else [],
                   rir_files=audio_files(rir_dir) if rir_dir else [], **kw)

    def _load(self, path: Path, rate: int) -> torch.Tensor:
        if path not in self._cache:
            self._cache[path] = torch.from_numpy(read_audio(path, rate)[0])
        return self._cache[path]

    def __call__(self, x: torch.Tensor, rate: int, rng: random.Random) -> torch.Tensor:
        if self.lead_trim_prob and rng.random() < self.lead_trim_prob:
            x = trim_lead(x, rate, rng.uniform(*self.lead_keep_s))
        factor = rng.choice(self.speed)
        if factor != 1.0:  # speed (and pitch) perturbation by resampling
            x = AF.resample(x, int(rate * factor), rate)
        if self.rir_files and rng.random() < self.rir_prob:
            rir = self._load(rng.choice(self.rir_files), rate)[: rate]
            rir = rir / (rir.norm() + 1e-8)
            x = reverberate(x, rir)
        if self.noise_files and rng.random() < self.noise_prob:
            noise = self._load(rng.choice(self.noise_files), rate)
            if noise.shape[0] < x.shape[0]:
                noise = noise.repeat(x.shape[0] // max(1, noise.shape[0]) + 1)
            start = rng.randrange(0, noise.shape[0] - x.shape[0] + 1)
            snr = torch.tensor([rng.uniform(*self.snr_db)])
            x = AF.add_noise(x[None], noise[None, start:start + x.shape[0]], snr)[0]
        if rng.random() < self.telephone_prob:  # 300-3400 Hz band
            x = AF.lowpass_biquad(AF.highpass_biquad(x, rate, 300.0), rate, 3400.0)
        elif rate > 8000 and rng.random() < self.narrowband_prob:
            x = AF.resample(AF.resample(x, rate, 8000), 8000, rate)
        x = x * (10 ** (rng.uniform(*self.gain_db) / 20))
        if self.level_prob and rng.random() < self.level_prob:  # no draw at 0: earlier runs replay as they were
            rms = x.square().mean().sqrt()
            if rms > 0:
                x = x * (10 ** (rng.uniform(*self.level_dbfs) / 20) / rms)
        level = x.square().mean().sqrt() if self.floor_prob else None  # the utterance's, before any pad
        if rng.random() < self.digital_silence_prob:
            before, after = (int(rate * rng.uniform(*self.digital_silence_s)) * rng.randint(0, 1) for _ in "ab")
            before = before or int(rate * self.digital_silence_s[0])  # at least one side
            x = torch.nn.functional.pad(x, (before, after))
        if self.floor_prob and rng.random() < self.floor_prob and level > 0:
            x = x + noise_floor(len(x), rate, float(level) * 10 ** (-rng.uniform(*self.floor_below_db) / 20), rng)
        return x.clamp(-1, 1)


def fast_fft_length(n: int) -> int:
    """The smallest 2^a 3^b 5^c at least n: an FFT of such a length is several times faster than one of a
    length with a large prime factor, which an exact full convolution's length often has."""
    best = 1 << max(0, n - 1).bit_length()
    five = 1
    while five < best:
        three = five
        while three < best:
            m = three
            while m < n:
                m *= 2
            best = min(best, m)
            three *= 3
        five *= 5
    return best


def reverberate(x: torch.Tensor, rir: torch.Tensor) -> torch.Tensor:
    """x convolved with an impulse response, cut to x's length: torchaudio's fftconvolve, but at a fast FFT
    length (zero padding past the full convolution changes nothing but rounding, about 1e-6 of the peak). Those
    transforms were the largest share of an augmenting worker's time: this made the workers about 1.75 times faster
    (README, "Training batches")."""
    m = fast_fft_length(x.shape[0] + rir.shape[0] - 1)
    return torch.fft.irfft(torch.fft.rfft(x, m) * torch.fft.rfft(rir, m), m)[: x.shape[0]]


def noise_floor(length: int, rate: int, rms: float, rng: random.Random) -> torch.Tensor:
    """`length` samples of steady hiss at `rms`: white, or (half the time) low-passed at 1-6 kHz, as
    microphones and their preamps differ in how bright their floor is."""
    noise = torch.randn(length, generator=torch.Generator().manual_seed(rng.getrandbits(63)))
    if rng.random() < 0.5:
        noise = AF.lowpass_biquad(noise, rate, rng.uniform(1000.0, min(6000.0, rate / 2 - 500)))
    return noise * (rms / (noise.square().mean().sqrt() + 1e-12))


def trim_lead(x: torch.Tensor, rate: int, keep_s: float = 0.0, below_peak_db: float = 30.0) -> torch.Tensor:
    """`x` from `keep_s` before its first 10 ms frame within `below_peak_db` of its loudest one (the
    start of speech in a clean clip); all of it where nothing is that loud."""
    hop = rate // 100
    frames = x[: len(x) // hop * hop].reshape(-1, hop)
    if not len(frames):
        return x
    rms = frames.square().mean(1).sqrt()
    first = int(torch.nonzero(rms >= rms.max() * 10 ** (-below_peak_db / 20))[0])  # 0 where all is silent
    return x[max(0, first * hop - int(keep_s * rate)):]


def _pcm16(samples: np.ndarray) -> np.ndarray:
    """Decoded audio as kept for training: 16-bit, half of float32's memory (57 hours at 16 kHz are 6.6 GB,
    not 13, in each training process). Exact for 16-bit recordings (the manifests' WAV and FLAC); other
    sources gain rounding 96 dB below full scale."""
    return np.clip(np.rint(samples * 32768), -32768, 32767).astype(np.int16)


class SpeechData:
    """Utterances of several manifests, mixed by weight, batched by total audio seconds."""

    def __init__(self, manifests: list[tuple[str, float]], vocab, rate: int = 16000, max_seconds: float = 20.0,
                 augment: Augment | None = None, seed: int = 0):
        self.rate, self.vocab, self.augment = rate, vocab, augment
        self.sets = []
        for path, weight in manifests:
            rows = [u for u in read_manifest(path) if 0 < u.duration <= max_seconds]
            if not rows:
                raise ValueError(f"{path}: no utterances of 0..{max_seconds} s")
            self.sets.append((rows, weight))
        self.rng = random.Random(seed)
        self._audio: dict[Path, np.ndarray] = {}  # int16 (_pcm16)

    @property
    def hours(self) -> float:
        return sum(u.duration for rows, _ in self.sets for u in rows) / 3600

    def _decode(self, path: Path) -> np.ndarray:
        return _pcm16(read_audio(path, self.rate)[0])

    def _samples(self, u: Utterance) -> torch.Tensor:
        if u.audio not in self._audio:  # the data sets here are small enough to keep decoded
            self._audio[u.audio] = self._decode(u.audio)
        return torch.from_numpy(self._audio[u.audio]).float().div_(32768)

    def recordings(self, limit: int | None = None) -> list[tuple[Utterance, torch.Tensor]]:
        """The first `limit` utterances in manifest order with their samples, unaugmented (a dev set's
        reads; decoded once and kept, like the training audio)."""
        return [(u, self._samples(u)) for u in [u for rows, _ in self.sets for u in rows][:limit]]

    def preload(self, threads: int = 8) -> None:
        """Decode every utterance now (in threads: the decoders release the GIL), e.g. before forking
        workers that then share the samples instead of each decoding them again."""
        todo = sorted({u.audio for rows, _ in self.sets for u in rows} - set(self._audio))
        with ThreadPoolExecutor(threads) as pool:
            for path, samples in zip(todo, pool.map(self._decode, todo)):
                self._audio[path] = samples

    def draw(self, n: int) -> list[Utterance]:
        weights = [w * len(rows) for rows, w in self.sets]
        picks = self.rng.choices(range(len(self.sets)), weights=weights, k=n)
        return [self.rng.choice(self.sets[i][0]) for i in picks]

    def batches(self, batch_seconds: float, pool: int | None = None):
        """Endless batches: draw a pool, sort it by length (bucketing), cut by total seconds. The pool is 64
        utterances, or for batches of more than 48 s (a GPU's) one per 0.75 s of a batch, about four batches
        of the recipe's mix (3.1 s an utterance): a batch is cut by its seconds, not ended by the pool (with 64
        a batch of 300 s held about 200). Batches of 48 s or less draw as they always have."""
        pool = pool or max(64, math.ceil(batch_seconds / 0.75))
        while True:
            drawn = sorted(self.draw(pool), key=lambda u: u.duration)
            batch, total = [], 0.0
            groups = []
            for u in drawn:
                if batch and total + u.duration > batch_seconds:
                    groups.append(batch)
                    batch, total = [], 0.0
                batch.append(u)
                total += u.duration
            if batch:
                groups.append(batch)
            self.rng.shuffle(groups)
            for g in groups:
                yield self.collate(g, train=True)

    def collate(self, utterances: list[Utterance], train: bool):
        audio = []
        for u in utterances:
            x = self._samples(u)
            if train and self.augment is not None:
                x = self.augment(x, self.rate, self.rng)
            audio.append(x)
        lengths = torch.tensor([a.shape[0] for a in audio])
        batch = torch.zeros(len(audio), int(lengths.max()))
        for i, a in enumerate(audio):
            batch[i, : a.shape[0]] = a
        targets = [torch.tensor(self.vocab.encode(u.text)) for u in utterances]
        target_lengths = torch.tensor([len(t) for t in targets])
        return batch, lengths, torch.cat(targets) if targets else torch.zeros(0, dtype=torch.long), target_lengths
