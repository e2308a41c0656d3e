"""The gRPC servicer: thin. It turns messages into session calls and errors into status codes."""

from __future__ import annotations

import asyncio
import itertools
import logging
from contextlib import asynccontextmanager

import grpc

from models.engine import Recogniser
from models.registry import list_models
from protos.wavestream.v1 import speech_pb2 as pb

from . import metrics
from .audio_input import check_format, request_chunks
from .config import ServerConfig
from .errors import IdleTimeout, InvalidArgument, Malformed, RequestError, tolerant_parser
from .scheduler import Scheduler
from .session import StreamSession, alternatives_wanted, check_model, request_constraint, result_message

log = logging.getLogger("wavestream.server")
RECOGNIZE_CHUNK_S = 10.0  # Recognize decodes files in pieces: long ones never whole in memory


@asynccontextmanager
async def rpc_status(method: str, context):
    """Every RPC ends in a status a person can act on, counted by code: a RequestError becomes
    its own code and message; a bug becomes INTERNAL, its traceback in the server log only."""
    code = grpc.StatusCode.OK
    try:
        yield
    except RequestError as e:
        code = e.code
        await context.abort(e.code, e.message)
    except asyncio.CancelledError:
        code = grpc.StatusCode.CANCELLED
        raise
    except Exception:
        code = grpc.StatusCode.INTERNAL
        log.exception("%s failed", method)
        await context.abort(code, "internal error (details are in the server log)")
    finally:
        metrics.REQUESTS.labels(method, code.name).inc()


class SpeechServicer:
    def __init__(self, rec: Recogniser, scheduler: Scheduler, cfg: ServerConfig, offline: Recogniser | None = None):
        self.rec, self.scheduler, self.cfg, self.offline = rec, scheduler, cfg, offline
        # Recognize's whole-file passes at once: each takes a core or more
        self._file_slots = asyncio.Semaphore(2)

    def _file_model(self, name: str) -> Recogniser:
        """Recognize's model: the offline one when asked for or by default, else the streaming one."""
        check_model(name, self.rec, self.offline)
        if self.offline is not None and name in ("", self.offline.name):
            return self.offline
        return self.rec

    async def _requests(self, request_iterator, context):
        """The client's messages, ended with an error if it goes quiet past the idle timeout."""
        it = request_iterator.__aiter__()
        while True:
            try:
                req = await asyncio.wait_for(it.__anext__(), self.cfg.idle_timeout_s)
            except StopAsyncIteration:
                return
            except asyncio.TimeoutError:
                raise IdleTimeout(f"nothing received for {self.cfg.idle_timeout_s:g} s: "
                                  f"the stream was ended (idle timeout)") from None
            yield req

    async def _stream(self, request_iterator, context, method: str, on_audio):
        session = None
        async with rpc_status(method, context):
            try:
                async for req in self._requests(request_iterator, context):
                    if isinstance(req, Malformed):
                        raise InvalidArgument(req.message)
                    kind = req.WhichOneof("request")
                    if kind == "config":
                        if session is not None:
                            raise InvalidArgument("a second config arrived mid-stream: send one config first, "
                                                  "then only audio")
                        if self.offline is not None and req.config.model == self.offline.name:
                            raise InvalidArgument(f"model {self.offline.name!r} is offline-only (whole files): send "
                                                  f"the file with Recognize, or stream with {self.rec.name!r}")
                        # only StreamingRecognize has finals for a second pass
                        session = StreamSession(req.config, self.rec, self.scheduler, self.cfg,
                                                request_constraint(req.config.constraint, self.rec),
                                                second_pass=method == "StreamingRecognize")
                    elif kind == "audio":
                        if session is None:
                            raise InvalidArgument("audio arrived before the config: the first message must be a config")
                        async for resp in on_audio(session, req.audio):
                            yield resp
                        if session.done:
                            break
                    else:
                        raise InvalidArgument("an empty request: each message carries a config or audio")
                if session is None:
                    raise InvalidArgument("the stream ended without a config or audio")
                if method == "StreamingRecognize":
                    for resp in await session.finish():
                        yield resp
            finally:
                if session is not None:
                    await session.aclose()

    async def StreamingRecognize(self, request_iterator, context):
        async def on_audio(session, data):
            for resp in await session.feed(data):
                yield resp

        async for resp in self._stream(request_iterator, context, "StreamingRecognize", on_audio):
            yield resp

    async def StreamingEncode(self, request_iterator, context):
        frame = {"next": 0}

        async def on_audio(session, data):
            samples = session.samples(data)
            if samples.size == 0:
                return
            timed = await self.scheduler.submit(session.stream, samples)
            emb = timed.result.embeddings
            if emb.shape[0]:
                yield pb.StreamingEncodeResponse(first_frame=frame["next"], frames=emb.shape[0], dim=emb.shape[1],
                                                 embeddings=emb.reshape(-1).tolist(), frame_s=self.rec.frame_s)
                frame["next"] += emb.shape[0]

        async for resp in self._stream(request_iterator, context, "StreamingEncode", on_audio):
            yield resp

    async def Recognize(self, request: pb.RecognizeRequest, context):
        async with rpc_status("Recognize", context):
            if isinstance(request, Malformed):
                raise InvalidArgument(request.message)
            cfg = request.config
            rec = self._file_model(cfg.model)  # before decoding: a wrong name is the first thing to say
            check_format(cfg.encoding, cfg.sample_rate_hz, cfg.channels, for_stream=False)
            constraint = request_constraint(cfg.constraint, rec)
            alternatives = alternatives_wanted(cfg)
            chunks = request_chunks(request.audio, cfg.encoding, cfg.sample_rate_hz, cfg.channels,
                                    rec.sample_rate, RECOGNIZE_CHUNK_S)
            first = await asyncio.to_thread(next, chunks, None)  # decode errors surface before a slot is taken
            async with self._file_slots:
                # read in one pass up to --offline-max-s, past that in blocks of that length (the same
                # frames), decoded as it arrives; a final per piece of at most 120 s
                finals, samples = await asyncio.to_thread(
                    rec.transcribe_file, itertools.chain([first] if first is not None else [], chunks),
                    self.cfg.offline_max_s, constraint or None, alternatives)
            audio_s = samples / rec.sample_rate
            metrics.AUDIO_SECONDS.labels("Recognize").inc(audio_s)
            return pb.RecognizeResponse(results=[result_message(f, i, True) for i, f in enumerate(finals)],
                                        audio_s=audio_s)

    async def ListModels(self, request, context):
        if isinstance(request, Malformed):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, request.message)
        models = []
        served = {r.name: r for r in (self.rec, self.offline) if r is not None}
        for m in list_models(include_untrained=self.cfg.untrained):
            if m.name not in served:
                continue
            c = served[m.name].cfg
            models.append(pb.ModelInfo(name=m.name, family=m.family, streaming=c.streaming, trained=m.trained,
                                       frame_ms=c.frame_ms, lookahead_ms=c.lookahead_ms))
        return pb.ListModelsResponse(models=models, default_model=self.rec.name)


def speech_handlers(servicer: SpeechServicer) -> grpc.GenericRpcHandler:
    """The Speech service's handlers, parsing requests tolerantly (see errors.Malformed)."""
    def streaming(method, request_cls, response_cls):
        return grpc.stream_stream_rpc_method_handler(method, request_deserializer=tolerant_parser(request_cls),
                                                     response_serializer=response_cls.SerializeToString)

    def unary(method, request_cls, response_cls):
        return grpc.unary_unary_rpc_method_handler(method, request_deserializer=tolerant_parser(request_cls),
                                                   response_serializer=response_cls.SerializeToString)

    return grpc.method_handlers_generic_handler(pb.DESCRIPTOR.services_by_name["Speech"].full_name, {
        "StreamingRecognize": streaming(servicer.StreamingRecognize, pb.StreamingRecognizeRequest,
                                        pb.StreamingRecognizeResponse),
        "StreamingEncode": streaming(servicer.StreamingEncode, pb.StreamingRecognizeRequest, pb.StreamingEncodeResponse),
        "Recognize": unary(servicer.Recognize, pb.RecognizeRequest, pb.RecognizeResponse),
        "ListModels": unary(servicer.ListModels, pb.ListModelsRequest, pb.ListModelsResponse),
    })
