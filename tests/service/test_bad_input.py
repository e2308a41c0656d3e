"""The bad-input catalogue, through real gRPC: each case with the status and message a
person gets. A well-behaved stream runs alongside all of them and must still get its
exact result, and the server must be healthy after every case."""

import io

import grpc
import numpy as np
import pytest
import soundfile as sf
from grpc_health.v1 import health_pb2, health_pb2_grpc

from clients.speech_client import SpeechClient, final_transcripts, streaming_config
from models.engine import Recogniser
from models.registry import untrained_model
from protos.wavestream.v1 import speech_pb2 as pb
from service.errors import InvalidArgument
from service.session import request_constraint

from .conftest import ServerProcess, pcm16

OK, INVALID, EXHAUSTED = grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED
SPEECH = "/wavestream.v1.Speech/"


def req(**kw) -> bytes:
    return pb.StreamingRecognizeRequest(**kw).SerializeToString()


def cfg(**kw) -> bytes:
    return req(config=pb.RecognitionConfig(**{"encoding": pb.LINEAR16, "sample_rate_hz": 16000, **kw}))


def audio(data: bytes) -> bytes:
    return req(audio=data)


SILENCE = audio(pcm16(np.zeros(1600)))
_bad_utf8_cfg = pb.RecognitionConfig(encoding=pb.LINEAR16, sample_rate_hz=16000).SerializeToString() + b"\x0a\x02\xff\xfe"


def wav_bytes(samples: np.ndarray, rate: int = 16000) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


# name: (raw request messages, expected code, fragment of the message)
STREAM_CASES = {
    "audio before config": ([SILENCE], INVALID, "before the config"),
    "second config": ([cfg(), SILENCE, cfg()], INVALID, "second config"),
    "empty request message": ([req()], INVALID, "empty request"),
    "no messages at all": ([], INVALID, "without a config"),
    "unknown model": ([cfg(model="nope")], INVALID, "unknown model 'nope'"),
    "unspecified encoding": ([cfg(encoding=pb.ENCODING_UNSPECIFIED)], INVALID, "unsupported encoding"),
    "unknown encoding value": ([cfg(encoding=7)], INVALID, "unsupported encoding"),
    "odd byte count for LINEAR16": ([cfg(), audio(b"\x00\x01\x02")], INVALID, "not a whole number of frames"),
    "stereo frame split": ([cfg(channels=2), audio(b"\x00" * 6)], INVALID, "4-byte frames"),
    "FLOAT32 partial sample": ([cfg(encoding=pb.FLOAT32), audio(b"\x00" * 7)], INVALID, "not a whole number"),
    "sample rate too low": ([cfg(sample_rate_hz=4000)], INVALID, "sample_rate_hz 4000 is out of range"),
    "sample rate too high": ([cfg(sample_rate_hz=192000)], INVALID, "sample_rate_hz 192000 is out of range"),
    "sample rate missing": ([cfg(sample_rate_hz=0)], INVALID, "sample_rate_hz 0 is out of range"),
    "sample rate negative": ([cfg(sample_rate_hz=-16000)], INVALID, "out of range"),
    "channels out of range": ([cfg(channels=9)], INVALID, "channels 9 is out of range"),
    "negative endpointing": ([cfg(endpointing=pb.EndpointingConfig(silence_after_text_s=-1))], INVALID,
                             "endpointing.silence_after_text_s must be"),
    "NaN endpointing": ([cfg(endpointing=pb.EndpointingConfig(max_utterance_s=float("nan")))], INVALID,
                        "endpointing.max_utterance_s must be"),
    "negative quiet": ([cfg(endpointing=pb.EndpointingConfig(quiet_after_text_s=-0.5))], INVALID,
                       "endpointing.quiet_after_text_s must be a number of seconds >= 0 (unset: the server default)"),
    "constraint with digits in a word": ([cfg(constraint=pb.Constraint(vocabulary=["call", "911"]))], INVALID,
                                         "spell numbers out"),
    "constraint with both words and phrases": ([cfg(constraint=pb.Constraint(vocabulary=["yes"], phrases=["no"]))],
                                               INVALID, "not both"),
    "unknown vocabulary set": ([cfg(constraint=pb.Constraint(vocabulary_set="klingon"))], INVALID,
                               "unknown vocabulary set 'klingon'"),
    "vocabulary too large": ([cfg(constraint=pb.Constraint(vocabulary=["yes"] * 6000))], INVALID, "at most 5000 words"),
    "negative max_alternatives": ([cfg(max_alternatives=-2)], INVALID, "max_alternatives must be >= 0"),
    "too many alternatives": ([cfg(max_alternatives=31)], INVALID, "max_alternatives must be at most 30"),
    "NaN samples": ([cfg(encoding=pb.FLOAT32), audio(np.array([0.1, np.nan], "<f4").tobytes())], INVALID,
                    "NaN or infinite"),
    "Inf samples": ([cfg(encoding=pb.FLOAT32), audio(np.array([np.inf, 0.0], "<f4").tobytes())], INVALID,
                    "NaN or infinite"),
    "invalid UTF-8 in the model name": ([b"\x0a" + bytes([len(_bad_utf8_cfg)]) + _bad_utf8_cfg, SILENCE], INVALID,
                                        "could not be parsed"),
    "truncated protobuf": ([cfg()[:-1], SILENCE], INVALID, "could not be parsed"),
    "garbage instead of a message": ([b"\xff\xff\xff\xff", SILENCE], INVALID, "could not be parsed"),
    "message over the size limit": ([cfg(), audio(b"\x00" * (17 * 1024 * 1024))], EXHAUSTED, "larger than max"),
    "unknown field is ignored": ([cfg() + b"\xf8\x06\x01", SILENCE], OK, ""),
    "zero-length audio chunks": ([cfg()] + [audio(b"")] * 20 + [SILENCE], OK, ""),
    "1-sample chunks": ([cfg()] + [audio(b"\x10\x00")] * 800, OK, ""),
    "config only, no audio": ([cfg()], OK, ""),
    "garbage audio bytes (whole frames)": ([cfg(), audio(np.random.default_rng(0).bytes(32000))], OK, ""),
    "FLOAT32 out of [-1, 1] (clipped speech)": ([cfg(encoding=pb.FLOAT32),
                                                  audio((np.ones(3200) * 40).astype("<f4").tobytes())], OK, ""),
}

RECOGNIZE_CASES = {
    "empty file": (pb.RecognizeRequest(audio=b""), INVALID, "no audio bytes"),
    "phrase with punctuation": (pb.RecognizeRequest(config=pb.RecognitionConfig(constraint=pb.Constraint(
        phrases=["lights on!"])), audio=wav_bytes(np.zeros(1600))), INVALID, "only the letters a-z"),
    "undecodable file": (pb.RecognizeRequest(audio=b"RIFF....WAVEjunkjunk"), INVALID, "cannot decode the audio bytes"),
    "WAV header only": (pb.RecognizeRequest(audio=wav_bytes(np.zeros(1600))[:44]), INVALID, "no samples"),
    "truncated WAV decodes what is there": (pb.RecognizeRequest(audio=wav_bytes(np.zeros(16000))[:16044]), OK, ""),
    "raw PCM with a bad rate": (pb.RecognizeRequest(config=pb.RecognitionConfig(encoding=pb.LINEAR16, sample_rate_hz=1),
                                                    audio=b"\x00\x00"), INVALID, "out of range"),
    "raw LINEAR16 odd bytes": (pb.RecognizeRequest(config=pb.RecognitionConfig(encoding=pb.LINEAR16,
                                                                               sample_rate_hz=16000),
                                                   audio=b"\x00\x00\x00"), INVALID, "not a whole number"),
    "NaN float file": (pb.RecognizeRequest(config=pb.RecognitionConfig(encoding=pb.FLOAT32, sample_rate_hz=16000),
                                           audio=np.array([np.nan] * 4, "<f4").tobytes()), INVALID, "NaN or infinite"),
    "unknown model": (pb.RecognizeRequest(config=pb.RecognitionConfig(model="nope"), audio=b"x"), INVALID,
                      "unknown model"),
    "file over the size limit": (pb.RecognizeRequest(audio=b"\x00" * (17 * 1024 * 1024)), EXHAUSTED, "larger than max"),
}

RAW_UNARY_CASES = {
    "Recognize: garbage bytes": ("Recognize", b"\xff\xff", INVALID, "could not be parsed"),
    "ListModels: garbage bytes": ("ListModels", b"\xff\xff\xff", INVALID, "could not be parsed"),
}


@pytest.fixture(scope="module")
def bystander(server):
    """A well-behaved stream running while the bad inputs arrive."""
    import threading

    clip = np.random.default_rng(7).standard_normal(16000 * 6).astype(np.float32) * 0.2
    data = pcm16(clip)
    expected = Recogniser(untrained_model("wavenet-base")).transcribe(np.frombuffer(data, "<i2") / 32768.0).text
    release = threading.Event()
    result = {}

    def chunks():
        parts = [data[i:i + 3200] for i in range(0, len(data), 3200)]
        for p in parts[:-1]:
            yield p
        # held open until the bad inputs are done; empty audio now and then keeps it from the idle
        # timeout (30 s) however long they take on a loaded machine
        for _ in range(60):
            if release.wait(5):
                break
            yield b""
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


def call(server, kind: str, payload):
    """-> (status code, details) of one raw call."""
    with grpc.insecure_channel(server.address, options=[("grpc.max_send_message_length", 64 * 1024 * 1024)]) as ch:
        try:
            if kind == "stream":
                rpc = ch.stream_stream(SPEECH + "StreamingRecognize", request_serializer=lambda b: b,
                                       response_deserializer=pb.StreamingRecognizeResponse.FromString)
                list(rpc(iter(payload), timeout=60))
            else:
                method, data = payload
                rpc = ch.unary_unary(SPEECH + method, request_serializer=lambda b: b, response_deserializer=lambda b: b)
                rpc(data, timeout=60)
            code, details = OK, ""
        except grpc.RpcError as e:
            code, details = e.code(), e.details()
        healthy = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=10).status
    assert healthy == health_pb2.HealthCheckResponse.SERVING, "the server is not healthy after this input"
    return code, details


def test_the_catalogue_is_at_least_thirty_cases():
    assert len(STREAM_CASES) + len(RECOGNIZE_CASES) + len(RAW_UNARY_CASES) >= 30


@pytest.mark.parametrize("case", sorted(STREAM_CASES))
def test_stream_input(server, bystander, case):
    messages, expected, fragment = STREAM_CASES[case]
    code, details = call(server, "stream", messages)
    assert code == expected, details
    assert fragment in details


@pytest.mark.parametrize("case", sorted(RECOGNIZE_CASES))
def test_recognize_input(server, bystander, case):
    request, expected, fragment = RECOGNIZE_CASES[case]
    code, details = call(server, "unary", ("Recognize", request.SerializeToString()))
    assert code == expected, details
    assert fragment in details


@pytest.mark.parametrize("case", sorted(RAW_UNARY_CASES))
def test_raw_unary_input(server, bystander, case):
    method, data, expected, fragment = RAW_UNARY_CASES[case]
    code, details = call(server, "unary", (method, data))
    assert code == expected, details
    assert fragment in details


def test_a_stream_longer_than_the_limit_is_ended_with_a_message():
    s = ServerProcess("--max-stream-s", "2")
    try:
        code, details = call(s, "stream", [cfg()] + [audio(pcm16(np.zeros(8000)))] * 6)
        assert code == INVALID and "limit of 2 s of audio" in details
        assert s.metric("wavestream_active_streams") == 0
    finally:
        assert s.stop() == 0


def test_no_tracebacks_in_the_log(server, bystander):
    assert not [l for l in server.log if "Traceback" in l or "ERROR" in l], "".join(server.log)


def test_a_constraint_a_greedy_only_recogniser_cannot_apply_is_a_clear_invalid_argument():
    # the server always builds a beam decoder; a service built on a Recogniser without one (library use)
    # must refuse a constraint, not ignore it, for files and streams alike (one check: request_constraint)
    greedy_only = Recogniser(untrained_model("wavenet-base"))
    with pytest.raises(InvalidArgument, match="decodes greedily .* cannot constrain the vocabulary"):
        request_constraint(pb.Constraint(vocabulary_set="digits"), greedy_only)
    assert not request_constraint(pb.Constraint(), greedy_only)  # no constraint: nothing to apply
