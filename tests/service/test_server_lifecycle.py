"""Readiness, configuration through the environment, and long or compressed files."""

import asyncio
import threading

import grpc
import numpy as np
import pytest
import soundfile as sf
from grpc_health.v1 import health_pb2, health_pb2_grpc

from clients.speech_client import SpeechClient, streaming_config
from protos.wavestream.v1 import speech_pb2 as pb
from service import server as server_module
from service.config import ServerConfig

from .conftest import HeldStreams, ServerProcess, free_port, pcm16, wait_for


def test_health_is_not_serving_until_the_warm_up_forward_pass_is_done(monkeypatch):
    """The real server in-process, its warm-up held open: health must say NOT_SERVING meanwhile,
    and the warm-up covers the offline model too (Recognize's first caller pays no first-call cost)."""
    release, warming = threading.Event(), threading.Event()
    real_warm_up = server_module.warm_up
    warmed = {}

    async def slow_warm_up(rec, scheduler, offline):
        warming.set()
        warmed.update(streaming=rec.name, offline=offline.name if offline else None)
        await asyncio.to_thread(release.wait, 30)
        await real_warm_up(rec, scheduler, offline)

    monkeypatch.setattr(server_module, "warm_up", slow_warm_up)
    port = free_port()
    cfg = ServerConfig(port=port, metrics_port=0, untrained=True, max_streams=2)
    loop = asyncio.new_event_loop()
    ready = asyncio.Event()
    task = {}

    def run():
        asyncio.set_event_loop(loop)
        task["t"] = loop.create_task(server_module.serve(cfg, ready, handle_signals=False))
        try:
            loop.run_until_complete(task["t"])
        except asyncio.CancelledError:
            pass

    t = threading.Thread(target=run, daemon=True)
    t.start()
    try:
        assert warming.wait(60)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            stub = health_pb2_grpc.HealthStub(ch)
            assert stub.Check(health_pb2.HealthCheckRequest(), timeout=10).status == \
                health_pb2.HealthCheckResponse.NOT_SERVING
            release.set()
            asyncio.run_coroutine_threadsafe(ready.wait(), loop).result(60)
            assert stub.Check(health_pb2.HealthCheckRequest(), timeout=10).status == \
                health_pb2.HealthCheckResponse.SERVING
        assert warmed == {"streaming": cfg.model, "offline": cfg.offline_model}
    finally:
        release.set()
        loop.call_soon_threadsafe(task["t"].cancel)
        t.join(30)


def test_configuration_through_environment_variables():
    s = ServerProcess(env={"WAVESTREAM_MAX_STREAMS": "1", "WAVESTREAM_TOKEN": "env-token"})
    try:
        with SpeechClient(s.address) as c:
            with pytest.raises(grpc.RpcError) as e:
                c.list_models()
            assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with SpeechClient(s.address, token="env-token") as c, HeldStreams(c, 1, streaming_config(16000)):
            assert wait_for(lambda: s.metric("wavestream_active_streams") == 1)
            with pytest.raises(grpc.RpcError) as e:
                list(c.stream([pcm16(np.zeros(1600))], streaming_config(16000)))
            assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "limit of 1" in e.value.details()
    finally:
        s.stop()


def test_mp3_and_ogg_files_through_recognize(server, lj_clip, tmp_path):
    data, rate = sf.read(lj_clip)
    with SpeechClient(server.address) as c:
        for fmt, sub in (("mp3", "MPEG_LAYER_III"), ("ogg", "VORBIS")):
            path = tmp_path / f"clip.{fmt}"
            sf.write(path, data, rate, format=fmt.upper() if fmt != "mp3" else "MP3", subtype=sub)
            resp = c.recognize_file(path)
            assert resp.audio_s == pytest.approx(len(data) / rate, abs=0.1)
            assert resp.results[0].alternatives[0].transcript


def test_an_hour_long_file_through_recognize(server, tmp_path):
    """An hour at 8 kHz (7 MB of FLAC): decoded and resampled in 10 s pieces as it is read, the model
    run in blocks of --offline-max-s, a result per piece of at most 120 s."""
    rate, minutes = 8000, 60
    t = np.arange(rate * 60) / rate
    minute = (0.2 * np.sin(2 * np.pi * 440 * t) * (np.sin(2 * np.pi * 0.5 * t) > 0)).astype(np.float32)
    path = tmp_path / "long.flac"
    with sf.SoundFile(path, "w", rate, 1, format="FLAC") as f:
        for _ in range(minutes):
            f.write(minute)
    with SpeechClient(server.address, timeout=300) as c:
        resp = c.recognize_file(path)
    assert resp.audio_s == pytest.approx(minutes * 60, abs=0.01)
    ends = [r.result_end_s for r in resp.results]
    assert len(ends) >= minutes // 2 and ends == sorted(ends) and ends[-1] <= minutes * 60 + 0.05
    assert [r.utterance_index for r in resp.results] == list(range(len(ends)))
