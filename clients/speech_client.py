"""Python clients for the wavestream server: `SpeechClient` (blocking) and `AsyncSpeechClient` (asyncio).

    client = SpeechClient("127.0.0.1:50051")
    client.recognize_file("talk.mp3")                    # whole file -> RecognizeResponse
    for resp in client.stream_file("talk.wav", realtime=True):
        ...                                              # partial and final results as they come
    client.stream(chunks_of_bytes, config)               # any source of PCM chunks (a microphone)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from pathlib import Path

import grpc
import numpy as np
import soundfile as sf

from protos.wavestream.v1 import speech_pb2 as pb
from protos.wavestream.v1 import speech_pb2_grpc as pb_grpc


def streaming_config(sample_rate: int, encoding: int = pb.LINEAR16, channels: int = 1, interim_results: bool = True,
                     word_time_offsets: bool = True, model: str = "", endpointing: pb.EndpointingConfig | None = None,
                     single_utterance: bool = False) -> pb.RecognitionConfig:
    return pb.RecognitionConfig(model=model, encoding=encoding, sample_rate_hz=sample_rate, channels=channels,
                                interim_results=interim_results, word_time_offsets=word_time_offsets,
                                endpointing=endpointing, single_utterance=single_utterance)


def linear16(samples: np.ndarray) -> bytes:
    """Float samples in [-1, 1] (clipped beyond) as the LINEAR16 bytes a stream sends."""
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


def constraint_from_args(args) -> pb.Constraint:
    """--vocabulary / --vocabulary-set / --phrases-file (the CLI's `add_constraint_args`) as a request field."""
    phrases = []
    if getattr(args, "phrases_file", None):
        phrases = [line.strip() for line in Path(args.phrases_file).read_text().splitlines() if line.strip()]
    return pb.Constraint(vocabulary=getattr(args, "vocabulary", None) or [],
                         vocabulary_set=getattr(args, "vocabulary_set", None) or "", phrases=phrases)


def file_chunks(path: str | Path, chunk_ms: float = 160) -> tuple[pb.RecognitionConfig, Iterator[bytes]]:
    """A file as LINEAR16 chunks at its own rate (the server resamples), read block by block."""
    info = sf.info(str(path))
    block = max(1, int(info.samplerate * chunk_ms / 1000))

    def chunks():
        for data in sf.blocks(str(path), blocksize=block, dtype="int16", always_2d=True):
            yield np.ascontiguousarray(data).tobytes()

    return streaming_config(info.samplerate, channels=info.channels), chunks()


def _requests(config: pb.RecognitionConfig, chunks: Iterable[bytes], realtime: bool) -> Iterator[pb.StreamingRecognizeRequest]:
    yield pb.StreamingRecognizeRequest(config=config)
    for chunk in chunks:
        if realtime:  # as fast as a live source could have produced it
            time.sleep(_chunk_seconds(config, chunk))
        yield pb.StreamingRecognizeRequest(audio=chunk)


def _chunk_seconds(config: pb.RecognitionConfig, chunk: bytes) -> float:
    width = 2 if config.encoding == pb.LINEAR16 else 4
    return len(chunk) / (width * max(config.channels, 1) * config.sample_rate_hz)


def open_channel(target: str, tls_ca: str | None = None, aio: bool = False):
    """Plaintext, or TLS trusting `tls_ca` ('' for the system roots)."""
    mod = grpc.aio if aio else grpc
    if tls_ca is not None:
        creds = grpc.ssl_channel_credentials(Path(tls_ca).read_bytes() if tls_ca else None)
        return mod.secure_channel(target, creds)
    return mod.insecure_channel(target)


class _Client:
    def __init__(self, target: str = "127.0.0.1:50051", token: str | None = None, tls_ca: str | None = None,
                 timeout: float | None = None, aio: bool = False):
        """`tls_ca`: None for plaintext, a CA file path for TLS ('' for the system roots)."""
        self.channel = open_channel(target, tls_ca, aio)
        self.stub = pb_grpc.SpeechStub(self.channel)
        self.metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self.timeout = timeout


class SpeechClient(_Client):

    def close(self):
        self.channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def list_models(self) -> pb.ListModelsResponse:
        return self.stub.ListModels(pb.ListModelsRequest(), metadata=self.metadata, timeout=self.timeout)

    def recognize(self, audio: bytes, config: pb.RecognitionConfig | None = None) -> pb.RecognizeResponse:
        return self.stub.Recognize(pb.RecognizeRequest(config=config, audio=audio), metadata=self.metadata,
                                   timeout=self.timeout)

    def recognize_file(self, path: str | Path, model: str = "",
                       constraint: pb.Constraint | None = None) -> pb.RecognizeResponse:
        return self.recognize(Path(path).read_bytes(), pb.RecognitionConfig(model=model, constraint=constraint))

    def stream(self, chunks: Iterable[bytes], config: pb.RecognitionConfig,
               realtime: bool = False) -> Iterator[pb.StreamingRecognizeResponse]:
        """Send chunks (paced like live audio with `realtime`), yield responses as they arrive."""
        yield from self.stub.StreamingRecognize(_requests(config, chunks, realtime), metadata=self.metadata,
                                                timeout=self.timeout)

    def stream_file(self, path: str | Path, chunk_ms: float = 160, realtime: bool = False,
                    interim_results: bool = True) -> Iterator[pb.StreamingRecognizeResponse]:
        config, chunks = file_chunks(path, chunk_ms)
        config.interim_results = interim_results
        yield from self.stream(chunks, config, realtime)


class AsyncSpeechClient(_Client):
    """The same calls for asyncio programs."""

    def __init__(self, target: str = "127.0.0.1:50051", token: str | None = None, tls_ca: str | None = None,
                 timeout: float | None = None):
        super().__init__(target, token, tls_ca, timeout, aio=True)

    async def close(self):
        await self.channel.close()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()

    async def list_models(self) -> pb.ListModelsResponse:
        return await self.stub.ListModels(pb.ListModelsRequest(), metadata=self.metadata, timeout=self.timeout)

    async def recognize(self, audio: bytes, config: pb.RecognitionConfig | None = None) -> pb.RecognizeResponse:
        return await self.stub.Recognize(pb.RecognizeRequest(config=config, audio=audio), metadata=self.metadata,
                                         timeout=self.timeout)

    async def stream(self, chunks: AsyncIterable[bytes] | Iterable[bytes], config: pb.RecognitionConfig,
                     realtime: bool = False) -> AsyncIterator[pb.StreamingRecognizeResponse]:
        async def requests():
            yield pb.StreamingRecognizeRequest(config=config)
            if hasattr(chunks, "__aiter__"):
                async for c in chunks:
                    yield pb.StreamingRecognizeRequest(audio=c)
            else:
                for c in chunks:
                    if realtime:
                        await asyncio.sleep(_chunk_seconds(config, c))
                    yield pb.StreamingRecognizeRequest(audio=c)

        call = self.stub.StreamingRecognize(requests(), metadata=self.metadata, timeout=self.timeout)
        async for resp in call:
            yield resp

    async def stream_file(self, path: str | Path, chunk_ms: float = 160, realtime: bool = False,
                          interim_results: bool = True) -> AsyncIterator[pb.StreamingRecognizeResponse]:
        config, chunks = file_chunks(path, chunk_ms)
        config.interim_results = interim_results
        async for resp in self.stream(chunks, config, realtime):
            yield resp


def final_transcripts(responses: Iterable[pb.StreamingRecognizeResponse]) -> list[str]:
    return [r.alternatives[0].transcript for resp in responses for r in resp.results
            if r.is_final and r.alternatives]
