"""One recognition stream: config checks, decode, resample, batched steps, endpointing, responses."""

from __future__ import annotations

import asyncio
import time

import numpy as np

from models.beam import Constraint
from models.ctc import Hypothesis
from models.engine import Recogniser
from models.state_pool import PoolFull
from protos.wavestream.v1 import speech_pb2 as pb

from . import metrics
from .audio_input import StreamResampler, check_format, decode_pcm
from .config import ServerConfig
from .endpointer import EndpointRules, QuietMeter
from .errors import InvalidArgument, ResourceExhausted
from .scheduler import Scheduler

MAX_ALTERNATIVES = 30  # the beam holds 32 paths, several of them per text


def alternative_message(h: Hypothesis, words: bool) -> pb.Alternative:
    alt = pb.Alternative(transcript=h.text, confidence=h.confidence)
    if words:
        alt.words.extend(pb.WordInfo(word=w.word, start_s=w.start_s, end_s=w.end_s, confidence=w.confidence)
                         for w in h.words)
    return alt


def result_message(h: Hypothesis, utterance: int, words: bool, stability: float = 0.0) -> pb.Result:
    return pb.Result(alternatives=[alternative_message(a, words) for a in [h, *h.alternatives]],
                     is_final=h.is_final, stability=1.0 if h.is_final else stability,
                     utterance_index=utterance, result_end_s=h.end_time_s)


def alternatives_wanted(cfg: pb.RecognitionConfig) -> int:
    """How many alternatives a final may carry (0 means 1). Only beam-searched finals have more
    than one: partials and greedy finals have a single reading."""
    if cfg.max_alternatives < 0:
        raise InvalidArgument(f"max_alternatives must be >= 0, got {cfg.max_alternatives}")
    if cfg.max_alternatives > MAX_ALTERNATIVES:
        raise InvalidArgument(f"max_alternatives must be at most {MAX_ALTERNATIVES}, got {cfg.max_alternatives}")
    return max(1, cfg.max_alternatives)


def endpoint_rules(cfg: pb.RecognitionConfig, server: ServerConfig) -> EndpointRules:
    e = cfg.endpointing
    for name in ("silence_without_text_s", "silence_after_text_s", "max_utterance_s", "quiet_after_text_s"):
        value = getattr(e, name)
        if not (value >= 0 and value < 1e6):  # also refuses NaN
            default = "unset" if name == "quiet_after_text_s" else "0"
            raise InvalidArgument(f"endpointing.{name} must be a number of seconds >= 0 ({default}: the server "
                                  f"default), got {value}")
    return EndpointRules(
        disabled=e.disabled,
        silence_without_text_s=e.silence_without_text_s or server.silence_without_text_s,
        silence_after_text_s=e.silence_after_text_s or server.silence_after_text_s,
        max_utterance_s=e.max_utterance_s or server.max_utterance_s,
        quiet_after_text_s=e.quiet_after_text_s if e.HasField("quiet_after_text_s") else server.quiet_after_text_s,
    )


def request_constraint(c: pb.Constraint, rec: Recogniser) -> Constraint:
    """The request's constraint, parsed and one that `rec` can apply (a greedy-only server cannot)."""
    try:
        constraint = Constraint.parse(c.vocabulary, c.phrases, c.vocabulary_set)
    except ValueError as e:
        raise InvalidArgument(f"constraint: {e}") from None
    try:
        rec.check_constraint(constraint)
    except ValueError as e:
        raise InvalidArgument(str(e)) from None
    return constraint


def check_model(name: str, rec: Recogniser, offline: Recogniser | None = None) -> None:
    """Empty (the default) or a model this server has; `offline` only where whole files go."""
    if not name or name == rec.name or (offline is not None and name == offline.name):
        return
    names = " and ".join(repr(r.name) for r in (rec, offline) if r is not None)
    raise InvalidArgument(f"unknown model {name!r}; this server has {names} (ListModels shows what it has)")


class StreamSession:
    def __init__(self, cfg: pb.RecognitionConfig, rec: Recogniser, scheduler: Scheduler, server: ServerConfig,
                 constraint: Constraint, second_pass: bool = True):
        """`constraint`: `cfg.constraint` as `request_constraint` parsed and checked it; `second_pass`: whether
        finals take the recogniser's second pass where it has one."""
        check_model(cfg.model, rec)
        check_format(cfg.encoding, cfg.sample_rate_hz, cfg.channels, for_stream=True)
        alternatives = alternatives_wanted(cfg)
        self.cfg, self.rec, self.scheduler, self.server = cfg, rec, scheduler, server
        self.rules = endpoint_rules(cfg, server)
        self.resample = StreamResampler(cfg.sample_rate_hz, rec.sample_rate)
        # the meter only where the rules read it: its per-frame loop is on every chunk's path
        self.quiet = QuietMeter(rec.sample_rate) if self.rules.hears_quiet else None
        try:
            self.stream = rec.open_stream(constraint, alternatives, second_pass)
        except PoolFull:
            raise ResourceExhausted(f"the server is at its limit of {server.max_streams} concurrent streams; "
                                    f"retry later or add replicas") from None
        metrics.ACTIVE_STREAMS.inc()
        self._released = False
        self.utterance = 0
        self.received_s = 0.0
        self.done = False
        self._last_text = ""

    def _latency(self, timed=None) -> pb.Latency:
        return pb.Latency(audio_received_s=self.received_s,
                          audio_processed_s=self.stream.utterance_offset_s + self.stream.utterance_s(),
                          queue_ms=timed.queue_ms if timed else 0.0, compute_ms=timed.compute_ms if timed else 0.0)

    def samples(self, data: bytes) -> np.ndarray:
        """A chunk's bytes -> model-rate mono samples (checked, counted, resampled)."""
        raw = decode_pcm(data, self.cfg.encoding, self.cfg.channels)
        self.received_s += raw.size / self.cfg.sample_rate_hz
        metrics.AUDIO_SECONDS.labels("stream").inc(raw.size / self.cfg.sample_rate_hz)
        if self.received_s > self.server.max_stream_s:
            raise InvalidArgument(f"the stream passed the server's limit of {self.server.max_stream_s:.0f} s of audio; "
                                  f"start a new stream")
        return self.resample(raw)

    async def feed(self, data: bytes) -> list[pb.StreamingRecognizeResponse]:
        arrived = time.perf_counter()
        samples = self.samples(data)
        if samples.size == 0:
            return []
        if self.quiet is not None:
            self.quiet.accept(samples)
        timed = await self.scheduler.submit(self.stream, samples)
        metrics.RTF.observe(timed.compute_ms / 1000 / max(samples.size / self.rec.sample_rate, 1e-3))
        out = await self._respond(timed)
        metrics.PARTIAL_LATENCY.observe(time.perf_counter() - arrived)
        return out

    async def _respond(self, timed) -> list[pb.StreamingRecognizeResponse]:
        words = self.cfg.word_time_offsets
        decision = self.rules.decide(self.stream.has_text(), self.stream.silence_s(), self.stream.utterance_s(),
                                     self.quiet.quiet_s() if self.quiet is not None else 0.0)
        if decision == "final":  # a beam search: off the event loop
            final = await asyncio.to_thread(self.stream.end_utterance)
            resp = pb.StreamingRecognizeResponse(results=[result_message(final, self.utterance, words)],
                                                 end_of_utterance=True, latency=self._latency(timed))
            self.utterance += 1
            self._last_text = ""
            if self.cfg.single_utterance:
                self.done = True
            return [resp]
        if decision == "reset":
            self.stream.end_utterance(decode=False)  # nothing said: no final to decode
            return []
        if self.cfg.interim_results and timed.result.new_frames:
            # One interim per chunk that decoded frames, changed or not: clients see progress and
            # can time each chunk (latency.audio_received_s names the audio it answers).
            hyp = self.stream.partial()
            stability = 0.9 if hyp.text == self._last_text else 0.5
            self._last_text = hyp.text
            return [pb.StreamingRecognizeResponse(results=[result_message(hyp, self.utterance, words, stability)],
                                                  latency=self._latency(timed))]
        return []

    async def finish(self) -> list[pb.StreamingRecognizeResponse]:
        """End of the client's audio: the resampler's and lookahead's tails, then the last final."""
        out = []
        if not self.done:
            tail = self.resample(np.zeros(0, dtype=np.float32), last=True)
            if tail.size:
                await self.scheduler.submit(self.stream, tail)
            final = await asyncio.to_thread(self.stream.finish)
            if final.text:
                out.append(pb.StreamingRecognizeResponse(
                    results=[result_message(final, self.utterance, self.cfg.word_time_offsets)],
                    end_of_utterance=True, latency=pb.Latency(audio_received_s=self.received_s,
                                                              audio_processed_s=final.end_time_s)))
        self.close()
        return out

    def close(self) -> None:
        """Free the slot (idempotent): on finish, cancel, disconnect, error or idle timeout.
        Waits for a batched step in flight that holds the slot; see `aclose`."""
        if self._released:
            return
        self._released = True
        self.stream.close()
        metrics.ACTIVE_STREAMS.dec()

    async def aclose(self) -> None:
        """`close` off the event loop. If this task is cancelled meanwhile, the thread still
        finishes the release."""
        if not self._released:
            await asyncio.to_thread(self.close)
