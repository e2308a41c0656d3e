"""Every bad input gets INVALID_ARGUMENT with a message a person can act on, and a
well-behaved stream running alongside all of them still gets its exact result."""

import threading

import grpc
import numpy as np
import pytest

from clients.speech_client import SpeechClient, final_transcripts, streaming_config
from models.engine import Recogniser
from models.registry import untrained_model
from protos.wavestream.v1 import speech_pb2 as pb

from .conftest import pcm16

CFG = streaming_config(16000)
AUDIO = pb.StreamingRecognizeRequest(audio=pcm16(np.zeros(1600)))


def cfg(**kw):
    return pb.StreamingRecognizeRequest(config=pb.RecognitionConfig(**{"encoding": pb.LINEAR16, "sample_rate_hz": 16000, **kw}))


STREAM_CASES = {
    "audio before config": ([AUDIO], "before the config"),
    "second config": ([cfg(), AUDIO, cfg()], "second config"),
    "unknown model": ([cfg(model="nope")], "unknown model 'nope'"),
    "unspecified encoding": ([cfg(encoding=pb.ENCODING_UNSPECIFIED)], "unsupported encoding"),
    "unknown encoding value": ([cfg(encoding=7)], "unsupported encoding"),
    "odd byte count": ([cfg(), pb.StreamingRecognizeRequest(audio=b"\x00\x01\x02")], "not a whole number of frames"),
    "stereo frame split": ([cfg(channels=2), pb.StreamingRecognizeRequest(audio=b"\x00" * 6)], "4-byte frames"),
    "sample rate too low": ([cfg(sample_rate_hz=4000)], "sample_rate_hz 4000 is out of range"),
    "sample rate too high": ([cfg(sample_rate_hz=96000)], "sample_rate_hz 96000 is out of range"),
    "sample rate missing": ([cfg(sample_rate_hz=0)], "sample_rate_hz 0 is out of range"),
    "NaN samples": ([cfg(encoding=pb.FLOAT32), pb.StreamingRecognizeRequest(
        audio=np.array([0.1, np.nan], "<f4").tobytes())], "NaN or infinite"),
    "Inf samples": ([cfg(encoding=pb.FLOAT32), pb.StreamingRecognizeRequest(
        audio=np.array([np.inf, 0.0], "<f4").tobytes())], "NaN or infinite"),
    "empty request": ([pb.StreamingRecognizeRequest()], "empty request"),
    "no messages at all": ([], "without a config"),
}

RECOGNIZE_CASES = {
    "empty file": (pb.RecognizeRequest(audio=b""), "no audio bytes"),
    "undecodable file": (pb.RecognizeRequest(audio=b"RIFF....WAVEjunkjunk"), "cannot decode the audio bytes"),
    "raw PCM with a bad rate": (pb.RecognizeRequest(config=pb.RecognitionConfig(encoding=pb.LINEAR16, sample_rate_hz=1),
                                                    audio=b"\x00\x00"), "out of range"),
    "NaN float file": (pb.RecognizeRequest(config=pb.RecognitionConfig(encoding=pb.FLOAT32, sample_rate_hz=16000),
                                           audio=np.array([np.nan] * 4, "<f4").tobytes()), "NaN or infinite"),
    "unknown model": (pb.RecognizeRequest(config=pb.RecognitionConfig(model="nope"), audio=b"x"), "unknown model"),
}


@pytest.fixture(scope="module")
def bystander(server):
    """A well-behaved stream running while the bad inputs arrive."""
    audio = np.random.default_rng(7).standard_normal(16000 * 6).astype(np.float32) * 0.2
    data = pcm16(audio)
    expected = Recogniser(untrained_model("wavenet-base")).transcribe(np.frombuffer(data, "<i2") / 32768.0).text
    release = threading.Event()
    result = {}

    def chunks():
        parts = [data[i:i + 3200] for i in range(0, len(data), 3200)]
        for p in parts[:-1]:
            yield p
        release.wait(120)
        yield parts[-1]

    def run():
        with SpeechClient(server.address) as c:
            result["finals"] = final_transcripts(c.stream(chunks(), streaming_config(
                16000, endpointing=pb.EndpointingConfig(disabled=True))))

    t = threading.Thread(target=run)
    t.start()
    yield
    release.set()
    t.join(60)
    assert result.get("finals") == [expected], "a well-behaved stream was disturbed by bad inputs"


@pytest.mark.parametrize("case", sorted(STREAM_CASES))
def test_bad_stream_input(server, bystander, case):
    messages, fragment = STREAM_CASES[case]
    with SpeechClient(server.address) as c:
        with pytest.raises(grpc.RpcError) as e:
            list(c.stub.StreamingRecognize(iter(messages)))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, e.value.details()
    assert fragment in e.value.details()


@pytest.mark.parametrize("case", sorted(RECOGNIZE_CASES))
def test_bad_recognize_input(server, bystander, case):
    request, fragment = RECOGNIZE_CASES[case]
    with SpeechClient(server.address) as c:
        with pytest.raises(grpc.RpcError) as e:
            c.stub.Recognize(request)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, e.value.details()
    assert fragment in e.value.details()


def test_server_is_healthy_after_bad_inputs(server, bystander):
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(server.address) as ch:
        assert health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest()).status == \
            health_pb2.HealthCheckResponse.SERVING
