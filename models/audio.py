"""Reading audio files into mono float32 at the model rate (soundfile decodes, torchaudio resamples)."""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF


class AudioError(ValueError):
    pass


def to_mono_float(data: np.ndarray) -> np.ndarray:
    data = np.asarray(data, dtype=np.float32)
    if data.ndim == 2:
        data = data.mean(axis=1)
    return data


def resample(audio: np.ndarray, sample_rate: int, target_rate: int) -> np.ndarray:
    if sample_rate == target_rate:
        return audio.astype(np.float32, copy=False)
    return AF.resample(torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)), sample_rate, target_rate).numpy()


def read_audio(source, target_rate: int | None = 16000) -> tuple[np.ndarray, int]:
    """A path or bytes of wav/flac/ogg/mp3 -> (mono float32 samples, rate)."""
    try:
        if isinstance(source, (bytes, bytearray, memoryview)):
            data, rate = sf.read(io.BytesIO(bytes(source)), dtype="float32", always_2d=False)
        else:
            data, rate = sf.read(str(source), dtype="float32", always_2d=False)
    except (sf.LibsndfileError, RuntimeError, TypeError) as e:
        raise AudioError(f"cannot decode audio (wav, flac, ogg and mp3 are supported): "
                         f"{getattr(e, 'error_string', e)}") from e
    audio = to_mono_float(data)
    if audio.size == 0:
        raise AudioError("the audio holds no samples")
    if not np.isfinite(audio).all():
        raise AudioError("the audio holds NaN or infinite samples")
    if target_rate:
        return resample(audio, rate, target_rate), target_rate
    return audio, rate
