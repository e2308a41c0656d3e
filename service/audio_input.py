"""Audio as it arrives from clients: raw PCM chunks or whole files, to 16 kHz mono float32."""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf
import soxr

from protos.wavestream.v1 import speech_pb2 as pb

from .errors import InvalidArgument

MIN_RATE, MAX_RATE = 8000, 48000
_SAMPLE_BYTES = {pb.LINEAR16: 2, pb.FLOAT32: 4}


def check_format(encoding: int, sample_rate: int, channels: int, for_stream: bool) -> None:
    if encoding not in _SAMPLE_BYTES and (for_stream or encoding != pb.ENCODING_UNSPECIFIED):
        name = pb.AudioEncoding.Name(encoding) if encoding in pb.AudioEncoding.values() else str(encoding)
        raise InvalidArgument(f"unsupported encoding {name}: streams take LINEAR16 or FLOAT32")
    if encoding in _SAMPLE_BYTES and not MIN_RATE <= sample_rate <= MAX_RATE:
        raise InvalidArgument(f"sample_rate_hz {sample_rate} is out of range: give the audio's rate, "
                              f"{MIN_RATE}..{MAX_RATE} Hz (it is resampled server-side)")
    if not 0 <= channels <= 8:
        raise InvalidArgument(f"channels {channels} is out of range 1..8")


def decode_pcm(data: bytes, encoding: int, channels: int) -> np.ndarray:
    """Raw interleaved PCM -> mono float32."""
    channels = max(channels, 1)
    frame = _SAMPLE_BYTES[encoding] * channels
    if len(data) % frame:
        name = pb.AudioEncoding.Name(encoding)
        raise InvalidArgument(f"{name} audio with {channels} channel(s) comes in {frame}-byte frames; "
                              f"got {len(data)} bytes, which is not a whole number of frames")
    if encoding == pb.LINEAR16:
        samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
    else:
        samples = np.frombuffer(data, dtype="<f4").astype(np.float32)
        if not np.isfinite(samples).all():
            raise InvalidArgument("FLOAT32 audio holds NaN or infinite samples")
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    return samples


class StreamResampler:
    """Stateful resampling of a live stream (soxr keeps the filter history between chunks)."""

    def __init__(self, rate_in: int, rate_out: int):
        self.identity = rate_in == rate_out
        self._rs = None if self.identity else soxr.ResampleStream(rate_in, rate_out, 1, dtype="float32")

    def __call__(self, samples: np.ndarray, last: bool = False) -> np.ndarray:
        if self.identity:
            return samples
        return self._rs.resample_chunk(samples, last=last)


def request_chunks(data: bytes, encoding: int, sample_rate: int, channels: int, target_rate: int,
                chunk_s: float = 10.0):
    """Recognize's audio, decoded block by block and resampled as it goes: memory stays bounded
    by the request itself however long the recording. Container bytes (wav/flac/ogg/mp3) when
    the encoding is unspecified, else raw PCM. Yields model-rate mono float32 chunks."""
    if not data:
        raise InvalidArgument("the request holds no audio bytes")
    if encoding != pb.ENCODING_UNSPECIFIED:
        samples = decode_pcm(data, encoding, channels)
        if samples.size == 0:
            raise InvalidArgument("the audio holds no samples")
        resampler = StreamResampler(sample_rate, target_rate)
        step = max(1, int(chunk_s * sample_rate))
        for i in range(0, samples.size, step):
            yield resampler(samples[i:i + step], last=i + step >= samples.size)
        return
    try:
        f = sf.SoundFile(io.BytesIO(data))
    except (sf.LibsndfileError, RuntimeError, TypeError) as e:
        raise InvalidArgument(f"cannot decode the audio bytes (wav, flac, ogg and mp3 are supported, "
                              f"or set encoding LINEAR16/FLOAT32 for raw PCM): "
                              f"{getattr(e, 'error_string', e)}") from None
    with f:
        resampler = StreamResampler(f.samplerate, target_rate)
        total = 0
        try:
            for block in f.blocks(blocksize=max(1, int(chunk_s * f.samplerate)), dtype="float32", always_2d=True):
                mono = block.mean(axis=1)
                if not np.isfinite(mono).all():
                    raise InvalidArgument("the audio holds NaN or infinite samples")
                total += mono.size
                yield resampler(mono)
        except (sf.LibsndfileError, RuntimeError) as e:
            raise InvalidArgument(f"the audio file is damaged part-way: {getattr(e, 'error_string', e)}") from None
        if total == 0:
            raise InvalidArgument("the audio holds no samples")
        yield resampler(np.zeros(0, dtype=np.float32), last=True)
