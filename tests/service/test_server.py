"""The service as users meet it: a real server process on a loopback port."""

import asyncio
import signal
import threading
import time

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from clients.speech_client import AsyncSpeechClient, SpeechClient, final_transcripts, streaming_config
from models.engine import Recogniser
from models.registry import untrained_model
from protos.wavestream.v1 import speech_pb2 as pb

from .conftest import HeldStreams, ServerProcess, pcm16, read16k, wait_for

NO_ENDPOINTS = pb.EndpointingConfig(disabled=True)


@pytest.fixture(scope="module")
def reference():
    """The in-process model the server runs (same seeded weights)."""
    return Recogniser(untrained_model("wavenet-base"), max_streams=2)


def chunks_of(data: bytes, size: int):
    return [data[i:i + size] for i in range(0, len(data), size)]


def test_health_is_serving_after_warm_up_and_metrics_are_served(server):
    with grpc.insecure_channel(server.address) as ch:
        stub = health_pb2_grpc.HealthStub(ch)
        for name in ("", "wavestream.v1.Speech"):
            assert stub.Check(health_pb2.HealthCheckRequest(service=name)).status == health_pb2.HealthCheckResponse.SERVING
    text = server.metrics()
    for name in ("wavestream_active_streams", "wavestream_step_seconds", "wavestream_requests_total",
                 "wavestream_audio_seconds_total", "wavestream_result_latency_seconds"):
        assert name in text


def test_streamed_final_equals_recognize_and_the_in_process_model(server, lj_clip, reference):
    audio = read16k(lj_clip)
    expected = reference.transcribe(audio).text
    with SpeechClient(server.address) as c:
        assert c.list_models().default_model == "wavenet-base"
        config = streaming_config(16000, endpointing=NO_ENDPOINTS)
        responses = list(c.stream(chunks_of(pcm16(audio), 5120), config))
        assert final_transcripts(responses) == [reference.transcribe(np.frombuffer(pcm16(audio), "<i2") / 32768.0).text]
        rec = c.recognize(lj_clip.read_bytes())
        assert rec.results[0].alternatives[0].transcript == expected
        assert rec.audio_s == pytest.approx(len(audio) / 16000, abs=1e-3)
        words = rec.results[0].alternatives[0].words
        assert words and all(0 <= w.start_s < w.end_s <= rec.audio_s + 0.05 for w in words)
        interim = [r for resp in responses for r in resp.results if not r.is_final]
        assert interim and all(resp.latency.compute_ms > 0 for resp in responses if resp.results and not resp.results[0].is_final)


def test_fifty_concurrent_streams_each_get_their_own_result(server, lj_manifest, reference):
    clips = [read16k(r["path"])[: 16000 * 3] for r in lj_manifest[:50]]
    expected = [reference.transcribe(c).text for c in clips]
    assert len(set(expected)) > 40  # the clips really differ

    async def run():
        async with AsyncSpeechClient(server.address) as c:
            async def one(audio):
                config = streaming_config(16000, encoding=pb.FLOAT32, interim_results=False, endpointing=NO_ENDPOINTS)
                data = audio.astype("<f4").tobytes()
                return final_transcripts([r async for r in c.stream(chunks_of(data, 10240), config)])
            return await asyncio.gather(*(one(a) for a in clips))

    got = asyncio.run(run())
    assert got == [[e] for e in expected]


def test_cancelling_mid_stream_frees_the_slot(server):
    with SpeechClient(server.address) as c, HeldStreams(c, 1, streaming_config(16000)) as held:
        assert wait_for(lambda: server.metric("wavestream_active_streams") == 1)
        held.calls[0].cancel()  # the client is still "speaking" when it cancels
        assert wait_for(lambda: server.metric("wavestream_active_streams") == 0)


def test_other_rates_and_channels_are_resampled_and_downmixed(server):
    t = np.arange(44100 * 2) / 44100
    stereo = np.stack([np.sin(2 * np.pi * 300 * t), np.sin(2 * np.pi * 500 * t)], 1) * 0.3
    with SpeechClient(server.address) as c:
        config = streaming_config(44100, channels=2, endpointing=NO_ENDPOINTS)
        responses = list(c.stream(chunks_of(pcm16(stereo.reshape(-1)), 44100 * 4 // 5), config))
    last = [resp for resp in responses if resp.results][-1]
    assert last.results[0].is_final
    assert last.latency.audio_received_s == pytest.approx(2.0)


def test_streaming_encode_gives_the_encoder_frames(server, lj_clip, reference):
    audio = read16k(lj_clip)[:32000].astype(np.float32)
    _, expected = reference.logits(audio)
    with SpeechClient(server.address) as c:
        config = pb.RecognitionConfig(encoding=pb.FLOAT32, sample_rate_hz=16000)
        reqs = [pb.StreamingRecognizeRequest(config=config)] + [
            pb.StreamingRecognizeRequest(audio=b) for b in chunks_of(audio.astype("<f4").tobytes(), 6400)]
        out = list(c.stub.StreamingEncode(iter(reqs)))
    frames = np.concatenate([np.asarray(r.embeddings, dtype=np.float32).reshape(r.frames, r.dim) for r in out])
    assert [r.first_frame for r in out] == list(np.cumsum([0] + [r.frames for r in out[:-1]]))
    assert frames.shape == tuple(expected.shape)
    assert np.abs(frames - expected.numpy()).max() <= 1e-4


def test_max_utterance_endpointing_emits_finals_and_carries_on(server):
    # Random weights emit characters everywhere, so the max-utterance rule is what ends these.
    with SpeechClient(server.address) as c:
        config = streaming_config(16000, endpointing=pb.EndpointingConfig(max_utterance_s=1.0))
        audio = np.random.default_rng(0).standard_normal(16000 * 4) * 0.1
        responses = list(c.stream(chunks_of(pcm16(audio), 3200), config))
    finals = [r for resp in responses for r in resp.results if r.is_final]
    assert len(finals) >= 3
    assert [f.utterance_index for f in finals] == list(range(len(finals)))
    assert all(resp.end_of_utterance for resp in responses if resp.results and resp.results[0].is_final)
    ends = [f.result_end_s for f in finals]
    assert ends == sorted(ends) and ends[-1] == pytest.approx(4.0, abs=0.05)


def test_single_utterance_ends_the_stream_after_the_first_final(server):
    with SpeechClient(server.address) as c:
        config = streaming_config(16000, single_utterance=True, endpointing=pb.EndpointingConfig(max_utterance_s=0.5))
        audio = np.random.default_rng(1).standard_normal(16000 * 3) * 0.1
        responses = list(c.stream(chunks_of(pcm16(audio), 3200), config))
    assert len([r for resp in responses for r in resp.results if r.is_final]) == 1


def test_too_many_streams_is_resource_exhausted_with_a_message():
    s = ServerProcess("--max-streams", "2")
    try:
        with SpeechClient(s.address) as c, HeldStreams(c, 2, streaming_config(16000)):
            assert wait_for(lambda: s.metric("wavestream_active_streams") == 2)
            with pytest.raises(grpc.RpcError) as e:
                list(c.stream([pcm16(np.zeros(1600))], streaming_config(16000)))
            assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "limit of 2 concurrent streams" in e.value.details()
            # a file is no stream: Recognize still reads one while every stream slot is held
            audio = np.random.default_rng(2).standard_normal(16000 * 2) * 0.1
            resp = c.recognize(pcm16(audio), pb.RecognitionConfig(encoding=pb.LINEAR16, sample_rate_hz=16000))
            assert resp.audio_s == pytest.approx(2.0)
        # the held streams ended: their slots are free again
        assert wait_for(lambda: s.metric("wavestream_active_streams") == 0)
    finally:
        assert s.stop() == 0


def test_idle_stream_times_out_and_frees_its_slot():
    s = ServerProcess("--idle-timeout-s", "1")
    try:
        with SpeechClient(s.address) as c:
            gate = threading.Event()

            def quiet():
                yield pb.StreamingRecognizeRequest(config=streaming_config(16000))
                gate.wait(20)

            with pytest.raises(grpc.RpcError) as e:
                list(c.stub.StreamingRecognize(quiet()))
            gate.set()
            assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED and "idle timeout" in e.value.details()
            assert s.metric("wavestream_active_streams") == 0
    finally:
        s.stop()


def test_sigterm_delivers_finals_of_streams_in_flight_then_exits(lj_clip, reference):
    s = ServerProcess()
    audio = read16k(lj_clip)
    data = pcm16(audio)
    expected = reference.transcribe(np.frombuffer(data, "<i2") / 32768.0).text
    sent_half, answered = threading.Event(), threading.Event()

    def chunks():
        parts = chunks_of(data, 5120)
        for i, p in enumerate(parts):
            if i == len(parts) // 2:
                answered.wait(30)  # the server has the call (the client sends ahead of it)
                sent_half.set()
                time.sleep(0.5)  # SIGTERM lands now, mid-stream
            yield p

    def noting_answers(responses):
        for resp in responses:
            answered.set()
            yield resp

    result = {}

    def run():
        with SpeechClient(s.address) as c:
            responses = c.stream(chunks(), streaming_config(16000, endpointing=NO_ENDPOINTS))
            result["finals"] = final_transcripts(noting_answers(responses))

    t = threading.Thread(target=run)
    t.start()
    assert sent_half.wait(30)
    s.proc.send_signal(signal.SIGTERM)
    t.join(60)
    assert result.get("finals") == [expected]
    assert s.wait(60) == 0
    assert any("shutting down" in l for l in s.log) and any("stopped" in l for l in s.log)
