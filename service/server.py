"""Builds and runs the gRPC server: model, scheduler, servicer, health, reflection, metrics, auth, TLS."""

from __future__ import annotations

import asyncio
import hmac
import logging
import signal
import sys

import grpc
import numpy as np
import torch
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from prometheus_client import start_http_server

from models.beam import BeamConfig, BeamDecoder, check_beam_threshold
from models.blend import Blend, check_blend_weight, check_rescore
from models.engine import Recogniser
from models.registry import ModelLoadError, ModelNotFound, list_models, load_model, resolve_lm
from models.warps import format_warps
from protos.wavestream.v1 import speech_pb2 as pb

from .allocator import fix_mmap_threshold
from .config import ServerConfig
from .scheduler import Scheduler
from .servicer import SpeechServicer, speech_handlers

log = logging.getLogger("wavestream.server")
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Speech"].full_name
STREAMING_METHODS = ("StreamingRecognize", "StreamingEncode")


class BearerTokenAuth(grpc.aio.ServerInterceptor):
    """`authorization: Bearer <token>` on every Speech call, compared in constant time.
    Health and reflection stay open so load balancers and tools can probe."""

    def __init__(self, token: str):
        self.expected = f"Bearer {token}".encode()

    async def intercept_service(self, continuation, details):
        if not details.method.startswith(f"/{SERVICE_NAME}/"):
            return await continuation(details)
        got = dict(details.invocation_metadata or ()).get("authorization", "")
        if hmac.compare_digest(got.encode() if isinstance(got, str) else got, self.expected):
            return await continuation(details)
        return self._deny(details.method.rsplit("/", 1)[-1] in STREAMING_METHODS)

    @staticmethod
    def _deny(streaming: bool):
        async def unary(request, context):
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token "
                                "(send metadata 'authorization: Bearer <token>')")

        async def stream(request_iterator, context):
            await unary(None, context)
            yield  # pragma: no cover - makes this an async generator

        return grpc.stream_stream_rpc_method_handler(stream) if streaming else grpc.unary_unary_rpc_method_handler(unary)


def resolve_device(name: str, cpu_fallback: bool = False) -> torch.device:
    if name.startswith("cuda") and not torch.cuda.is_available():
        if cpu_fallback:
            log.warning("--device %s was asked for but CUDA is not available: serving on the CPU (--cpu-fallback)", name)
            return torch.device("cpu")
        raise SystemExit(f"wavestream: cannot start: --device {name} was asked for but CUDA is not available on "
                         f"this machine; use --device cpu, or --cpu-fallback to fall back to the CPU")
    try:
        return torch.device(name)
    except RuntimeError as e:
        raise SystemExit(f"wavestream: cannot start: --device {name!r} is not a device (cpu, cuda, cuda:N): {e}") from None


def _load(name: str, cfg: ServerConfig):
    try:
        model = load_model(name, allow_untrained=cfg.untrained)
    except ModelNotFound as e:
        hint = "" if cfg.untrained else " (--untrained serves seeded random weights of a built-in size, for testing only)"
        raise SystemExit(f"wavestream: cannot start: {e}{hint}") from None
    except ModelLoadError as e:
        raise SystemExit(f"wavestream: cannot start: {e}") from None
    if cfg.untrained and not any(m.name == name for m in list_models()):
        log.warning("serving %s with seeded RANDOM weights (--untrained): transcripts are noise", name)
    return model


def load_recognisers(cfg: ServerConfig) -> tuple[Recogniser, Recogniser | None]:
    """The streaming model (StreamingRecognize) and the optional offline one (Recognize of files,
    those past --offline-max-s in blocks). Both share one beam decoder for finals."""
    if cfg.end_pad_s < 0:
        raise SystemExit(f"wavestream: cannot start: --end-pad-s must be 0 or more seconds, got {cfg.end_pad_s:g}")
    # the endpointer's defaults: a stream's own 0 means these, so they cannot be 0 themselves (the quiet rule's turns
    # it off)
    for flag, value in (("--silence-without-text-s", cfg.silence_without_text_s),
                        ("--silence-after-text-s", cfg.silence_after_text_s), ("--max-utterance-s", cfg.max_utterance_s)):
        if not value > 0:
            raise SystemExit(f"wavestream: cannot start: {flag} must be a number of seconds above 0, got {value:g}")
    if not cfg.quiet_after_text_s >= 0:
        raise SystemExit(f"wavestream: cannot start: --quiet-after-text-s must be a number of seconds, 0 or more (0: "
                         f"off), got {cfg.quiet_after_text_s:g}")
    try:  # before the models load: a bad value stops at once
        check_beam_threshold(cfg.beam_threshold, "--beam-threshold")
        check_blend_weight(cfg.blend_weight, "--blend-weight")
        check_rescore(cfg.blend_rescore, cfg.blend_rescore_beam, ("--blend-rescore", "--blend-rescore-beam"))
    except ValueError as e:
        raise SystemExit(f"wavestream: cannot start: {e}") from None
    device = resolve_device(cfg.device, cfg.cpu_fallback)
    model = _load(cfg.model, cfg)
    if not model.cfg.streaming:
        raise SystemExit(f"wavestream: cannot start: {cfg.model!r} is an offline-only model; serve a streaming one "
                         f"(--model), and give it as --offline-model")
    offline_model = _load(cfg.offline_model, cfg) if cfg.offline_model else None
    if offline_model is not None and (offline_model.cfg.vocab != model.cfg.vocab
                                      or offline_model.cfg.sample_rate != model.cfg.sample_rate):
        raise SystemExit(f"wavestream: cannot start: --offline-model {cfg.offline_model!r} has another vocabulary or "
                         f"sample rate than --model {cfg.model!r}")
    try:
        lm = resolve_lm(cfg.lm)
    except ModelNotFound as e:
        raise SystemExit(f"wavestream: cannot start: {e}") from None
    if cfg.beam_workers < 0:
        raise SystemExit(f"wavestream: cannot start: --beam-workers must be 0 or more, got {cfg.beam_workers}")
    try:
        beam_cfg = BeamConfig(beam_size=cfg.beam_size, beam_threshold=cfg.beam_threshold, lm_weight=cfg.lm_weight,
                              word_score=cfg.word_score, rescore_lm_weight=cfg.rescore_lm_weight,
                              rescore_word_score=cfg.rescore_word_score)
        beam = BeamDecoder.for_model(model.cfg, lm, beam_cfg, workers=cfg.beam_workers)
    except ValueError as e:
        raise SystemExit(f"wavestream: cannot start: {e}") from None
    where = f"{cfg.beam_workers} worker processes" if cfg.beam_workers else "the server's threads"
    log.info("finals: %s; searches in %s",
             f"beam search with {lm}, beam {cfg.beam_size}, threshold {cfg.beam_threshold:g}" if lm
             else "greedy (no LM); beam search for constrained requests", where)
    blend = (Blend(model, cfg.blend_weight, cfg.blend_delay, cfg.blend_rescore, cfg.blend_rescore_beam)
             if offline_model is not None and cfg.blend_weight > 0
             else None)
    try:
        offline = (Recogniser(offline_model, device=device, beam=beam, end_pad_s=cfg.end_pad_s, blend=blend,
                              warps=cfg.warps)
                   if offline_model is not None else None)
    except ValueError as e:  # models whose frames do not line up
        raise SystemExit(f"wavestream: cannot start: {e}; serve them with --blend-weight 0") from None
    if blend is not None:
        log.info("offline finals: %s blended with %s at %g, delay %s, %s", offline.name, model.cfg.name,
                 cfg.blend_weight, "matched per recording" if blend.delay_frames is None else f"{blend.delay_frames} frames",
                 f"{blend.rescore} texts a search scored again" if blend.rescore else "not scored again")
    second_pass = offline if cfg.second_pass else None
    if second_pass is not None:
        log.info("streams' finals: second pass by %s over each utterance", offline.name)
    # warps reach whole audio's finals (files; with no offline model, this one reads them), never streamed logits
    rec = Recogniser(model, device=device, max_streams=cfg.max_streams, beam=beam, end_pad_s=cfg.end_pad_s,
                     second_pass=second_pass, warps=cfg.warps)
    if cfg.warps:
        log.info("finals of whole audio heard under warps %s, their readings averaged", format_warps(cfg.warps))
    return rec, offline


async def warm_up(rec: Recogniser, scheduler: Scheduler, offline: Recogniser | None) -> None:
    """A real forward pass through each model, so the first caller after SERVING pays no first-call cost."""
    stream = rec.open_stream()
    try:
        await scheduler.submit(stream, np.zeros(rec.sample_rate // 2, dtype=np.float32))
    finally:
        stream.close()
    if offline is not None:
        await asyncio.to_thread(offline.transcribe, np.zeros(offline.sample_rate // 2, dtype=np.float32))


async def serve(cfg: ServerConfig, ready: asyncio.Event | None = None, handle_signals: bool = True) -> None:
    """Run until SIGTERM/SIGINT (or cancellation when embedded without signal handling)."""
    rec, offline = load_recognisers(cfg)
    try:
        await _serve(cfg, rec, offline, ready, handle_signals)
    finally:
        rec.beam.close()  # its search worker processes (the offline model shares the decoder)


async def _serve(cfg: ServerConfig, rec: Recogniser, offline: Recogniser | None, ready: asyncio.Event | None,
                 handle_signals: bool) -> None:
    scheduler = Scheduler(rec, cfg.max_batch, cfg.max_wait_ms)
    options = [("grpc.max_receive_message_length", cfg.max_message_bytes),
               ("grpc.max_send_message_length", cfg.max_message_bytes)]
    interceptors = [BearerTokenAuth(cfg.token)] if cfg.token else []
    server = grpc.aio.server(options=options, interceptors=interceptors)
    server.add_generic_rpc_handlers((speech_handlers(SpeechServicer(rec, scheduler, cfg, offline)),))
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection((SERVICE_NAME, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                                         reflection.SERVICE_NAME), server)
    for name in ("", SERVICE_NAME):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    address = f"{cfg.host}:{cfg.port}"
    if cfg.tls_cert or cfg.tls_key:
        try:
            creds = grpc.ssl_server_credentials([(open(cfg.tls_key, "rb").read(), open(cfg.tls_cert, "rb").read())])
        except OSError as e:
            raise SystemExit(f"wavestream: cannot read TLS key/cert: {e}") from None
        port = server.add_secure_port(address, creds)
    else:
        port = server.add_insecure_port(address)
    if cfg.metrics_port:
        start_http_server(cfg.metrics_port, addr=cfg.host)
    await server.start()
    scheduler.start()
    await warm_up(rec, scheduler, offline)  # readiness only after a real forward pass of each model
    for name in ("", SERVICE_NAME):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    print(f"wavestream: serving {rec.name} on {cfg.host}:{port} ({rec.device}, "
          f"files: {(offline or rec).name} (past {cfg.offline_max_s:g} s in blocks), "
          f"{'TLS' if cfg.tls_cert else 'plaintext'}{', token auth' if cfg.token else ''}"
          f"{f', metrics on :{cfg.metrics_port}' if cfg.metrics_port else ''})", file=sys.stderr, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    if handle_signals:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    except asyncio.CancelledError:
        await server.stop(0)
        await scheduler.stop()
        raise
    print("wavestream: shutting down: no new calls; in-flight streams get their finals", file=sys.stderr, flush=True)
    await health_servicer.enter_graceful_shutdown()
    await server.stop(cfg.grace_s)
    await scheduler.stop()
    print("wavestream: stopped", file=sys.stderr, flush=True)


def main(cfg: ServerConfig) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if cfg.mmap_threshold_kb:  # process-wide, so here and not in serve(), which tests embed in their process
        try:
            fixed = fix_mmap_threshold(cfg.mmap_threshold_kb)
        except ValueError as e:
            raise SystemExit(f"wavestream: --mmap-threshold-kb: {e}") from None
        if fixed:
            log.info("allocator: buffers of %d KiB and more are returned to the OS when freed", cfg.mmap_threshold_kb)
        else:
            log.warning("allocator: this C library has no mallopt (not glibc); --mmap-threshold-kb is ignored")
    if cfg.threads < 0:
        raise SystemExit(f"wavestream: cannot start: --threads {cfg.threads}: give 1 or more, or 0 for PyTorch's choice")
    if cfg.threads:  # process-wide, as the allocator
        torch.set_num_threads(cfg.threads)
    log.info("models: %d CPU thread(s) for each call", torch.get_num_threads())
    asyncio.run(serve(cfg))
    return 0
