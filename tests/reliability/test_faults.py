"""Faults a long-running server meets: dying and stalled clients, bad weights, missing CUDA,
and a batch run interrupted half-way."""

import signal
import subprocess
import sys
import textwrap
import time

import grpc
import numpy as np
import psutil
import pytest
import soundfile as sf
import torch

from clients.speech_client import SpeechClient, final_transcripts, streaming_config
from models.config import ModelConfig
from models.recogniser import SpeechRecogniser
from models.registry import save_model
from protos.wavestream.v1 import speech_pb2 as pb
from tests.conftest import ROOT
from tests.service.conftest import ServerProcess, free_port, pcm16, wait_for


def test_a_client_killed_mid_stream_frees_its_slot(server):
    script = textwrap.dedent(f"""
        import time, numpy as np
        from clients.speech_client import SpeechClient, streaming_config
        def chunks():
            while True:
                yield (np.zeros(1600, '<i2')).tobytes()
                time.sleep(0.1)
        with SpeechClient({server.address!r}) as c:
            for _ in c.stream(chunks(), streaming_config(16000)):
                pass
    """)
    client = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    try:
        assert wait_for(lambda: server.metric("wavestream_active_streams") >= 1, timeout=30)
    finally:
        client.send_signal(signal.SIGKILL)
        client.wait(10)
    assert wait_for(lambda: server.metric("wavestream_active_streams") == 0, timeout=30)


def test_a_client_that_stops_reading_holds_bounded_memory_and_others_keep_going(server):
    proc = psutil.Process(server.proc.pid)
    rss_before = proc.memory_info().rss
    config = streaming_config(16000, interim_results=True, word_time_offsets=True)
    requests = iter([pb.StreamingRecognizeRequest(config=config)] +
                    [pb.StreamingRecognizeRequest(audio=pcm16(np.random.default_rng(i).standard_normal(16000) * 0.1))
                     for i in range(600)])  # 10 minutes of audio, sent as fast as flow control allows
    with grpc.insecure_channel(server.address) as ch:
        stalled = ch.stream_stream("/wavestream.v1.Speech/StreamingRecognize",
                                   request_serializer=pb.StreamingRecognizeRequest.SerializeToString,
                                   response_deserializer=pb.StreamingRecognizeResponse.FromString)(requests)
        # never read `stalled`; meanwhile a well-behaved stream is served as usual
        time.sleep(5)
        with SpeechClient(server.address) as c:
            finals = final_transcripts(c.stream([pcm16(np.zeros(16000))] * 2, streaming_config(
                16000, endpointing=pb.EndpointingConfig(disabled=True))))
        assert len(finals) <= 1
        growth_mb = (proc.memory_info().rss - rss_before) / 2**20
        assert growth_mb < 150, f"server RSS grew {growth_mb:.0f} MB behind a client that does not read"
        stalled.cancel()
    assert wait_for(lambda: server.metric("wavestream_active_streams") == 0, timeout=30)


def _start(*args, env=None):
    return subprocess.run([sys.executable, "-m", "clients.cli", "serve", "--port", str(free_port()),
                           "--metrics-port", "0", *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=env)


@pytest.mark.parametrize("damage", ["corrupt", "pickle", "missing", "wrong shape"])
def test_bad_weights_at_start_are_a_clear_error_never_a_half_started_server(tmp_path, damage):
    import os
    import pickle

    model_dir = tmp_path / "mine"
    model = SpeechRecogniser(ModelConfig(name="mine", d_model=16, subsample_channels=4, dilations=[1, 2]))
    save_model(model, model_dir)
    weights = model_dir / "model.safetensors"
    if damage == "corrupt":
        weights.write_bytes(weights.read_bytes()[:200] + b"\x00" * 64)
    elif damage == "pickle":
        weights.write_bytes(pickle.dumps({"w": torch.zeros(2)}))
    elif damage == "missing":
        weights.unlink()
    else:
        cfg = ModelConfig.load(model_dir / "config.json")
        cfg.d_model = 24
        (model_dir / "config.json").write_text(cfg.to_json())
    r = _start("--model", "mine", env={**os.environ, "WAVESTREAM_MODEL_DIR": str(tmp_path)})
    assert r.returncode != 0
    assert "cannot start" in r.stderr and "serving" not in r.stderr
    expected = {"corrupt": "safetensors", "pickle": "safetensors", "missing": "unknown model 'mine'",
                "wrong shape": "do not match"}[damage]
    assert expected in r.stderr


def test_a_negative_end_pad_is_refused_at_start():
    r = _start("--untrained", "--end-pad-s", "-0.1")
    assert r.returncode != 0 and "--end-pad-s must be 0 or more seconds" in r.stderr


def test_endpointing_defaults_that_cannot_work_are_refused_at_start():
    for flag, value in (("--silence-after-text-s", "0"), ("--silence-without-text-s", "-1"),
                        ("--max-utterance-s", "nan")):
        r = _start("--untrained", flag, value)
        assert r.returncode != 0 and f"{flag} must be a number of seconds above 0" in r.stderr, r.stderr
    r = _start("--untrained", "--quiet-after-text-s", "-0.5")
    assert r.returncode != 0 and "--quiet-after-text-s must be a number of seconds, 0 or more (0: off)" in r.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without CUDA")
def test_cuda_asked_for_but_absent():
    r = _start("--untrained", "--device", "cuda")
    assert r.returncode != 0 and "CUDA is not available" in r.stderr and "--cpu-fallback" in r.stderr
    s = ServerProcess("--device", "cuda", "--cpu-fallback")
    try:
        assert any("serving on the CPU" in l for l in s.log)
        with SpeechClient(s.address) as c:
            assert c.list_models().default_model == "wavenet-base"
    finally:
        assert s.stop() == 0


def test_an_interrupted_batch_run_loses_nothing_and_redoes_nothing(server, tmp_path, lj_clip):
    data, rate = sf.read(lj_clip)
    src = tmp_path / "in"
    src.mkdir()
    for i in range(8):
        sf.write(src / f"clip{i}.wav", data, rate)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "clients.cli", "transcribe", str(src), "--out", str(out), "-j", "1", "--realtime",
           "--server", server.address, "--quiet"]
    first = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    assert wait_for(lambda: len(list(out.glob("*.txt"))) >= 1, timeout=120)
    first.send_signal(signal.SIGKILL)  # as abrupt as a power cut
    first.wait(30)
    done_before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.txt")}
    assert 1 <= len(done_before) < 8
    second = subprocess.run(cmd[:cmd.index("--realtime")] + cmd[cmd.index("--realtime") + 1:], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert f"{8 - len(done_before)} transcribed, {len(done_before)} already done, 0 failed" in second.stderr
    assert sorted(p.name for p in out.glob("*.txt")) == [f"clip{i}.txt" for i in range(8)]
    assert {n: (out / n).stat().st_mtime_ns for n in done_before} == done_before
    assert not list(out.glob("*.partial"))


def test_beam_search_settings_that_cannot_work_are_refused_at_start(tmp_path):
    r = _start("--untrained", "--beam-workers", "-1")
    assert r.returncode != 0 and "--beam-workers must be 0 or more" in r.stderr
    bad = tmp_path / "lm.arpa"
    bad.write_text("\\data\\\nngram 1=2\n\n\\1-grams:\n-1.0\tcat\nnot an arpa line\n")
    r = _start("--untrained", "--lm", str(bad))
    assert r.returncode != 0 and "cannot start" in r.stderr and f"could not load {bad}" in r.stderr
    assert "Traceback" not in r.stderr


def test_a_server_killed_outright_takes_its_search_workers_with_it():
    """SIGKILL (or the OOM killer) gives the server no chance to stop its beam search workers;
    they must not live on, each holding a copy of the LM."""
    s = ServerProcess()
    server = psutil.Process(s.proc.pid)
    workers = [p for p in server.children() if "spawn_main" in " ".join(p.cmdline())]
    assert len(workers) == 2
    s.stop(signal.SIGKILL)
    gone, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive, [p.pid for p in alive]
