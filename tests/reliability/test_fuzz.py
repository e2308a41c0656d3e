"""Property-based request sequences and byte payloads against a running server.

CI runs a small number of examples; a nightly-sized run sets WAVESTREAM_FUZZ_EXAMPLES
(e.g. 5000). Every call must end with a status from the expected set within its deadline
(no hang), the server must stay healthy, and its log must hold no unhandled exception.
"""

import os

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protos.wavestream.v1 import speech_pb2 as pb
from tests.service.conftest import ServerProcess

EXAMPLES = int(os.environ.get("WAVESTREAM_FUZZ_EXAMPLES", "120"))
ALLOWED = {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED}
SPEECH = "/wavestream.v1.Speech/"

f32 = st.floats(width=32, allow_nan=True, allow_infinity=True)
configs = st.builds(
    pb.RecognitionConfig,
    model=st.sampled_from(["", "wavenet-base"]) | st.text(max_size=12),
    encoding=st.sampled_from([0, 1, 2]) | st.integers(-3, 9),
    sample_rate_hz=st.sampled_from([8000, 16000, 22050, 44100, 48000]) | st.integers(-10, 400000),
    channels=st.integers(-1, 10),
    interim_results=st.booleans(),
    word_time_offsets=st.booleans(),
    max_alternatives=st.integers(-3, 5),
    endpointing=st.builds(pb.EndpointingConfig, disabled=st.booleans(), silence_without_text_s=f32,
                          silence_after_text_s=f32, max_utterance_s=f32, quiet_after_text_s=f32),
    single_utterance=st.booleans(),
)
messages = st.one_of(
    configs.map(lambda c: pb.StreamingRecognizeRequest(config=c).SerializeToString()),
    st.binary(max_size=4000).map(lambda b: pb.StreamingRecognizeRequest(audio=b).SerializeToString()),
    st.binary(max_size=64),  # raw bytes: often not a valid message at all
)
# most sequences start with a sound config so that the audio paths get exercised too
sound_config = st.builds(pb.RecognitionConfig, encoding=st.sampled_from([1, 2]),
                         sample_rate_hz=st.sampled_from([8000, 16000, 44100]), channels=st.integers(0, 2),
                         interim_results=st.booleans(), single_utterance=st.booleans()).map(
    lambda c: pb.StreamingRecognizeRequest(config=c).SerializeToString())
sequences = st.one_of(st.lists(messages, max_size=8),
                      st.tuples(sound_config, st.lists(messages, max_size=10)).map(lambda t: [t[0], *t[1]]))


@pytest.fixture(scope="module")
def fuzz_server():
    s = ServerProcess("--idle-timeout-s", "5", "--max-streams", "16")
    yield s
    assert s.stop() == 0
    bad = [l for l in s.log if "Traceback" in l or " ERROR " in l or "Exception" in l]
    assert not bad, "".join(s.log)


@pytest.fixture(scope="module")
def channel(fuzz_server):
    with grpc.insecure_channel(fuzz_server.address) as ch:
        yield ch


def _status(fn) -> grpc.StatusCode:
    try:
        fn()
        return grpc.StatusCode.OK
    except grpc.RpcError as e:
        return e.code()


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(seq=sequences)
def test_fuzzed_streams(channel, seq):
    rpc = channel.stream_stream(SPEECH + "StreamingRecognize", request_serializer=lambda b: b,
                                response_deserializer=pb.StreamingRecognizeResponse.FromString)
    code = _status(lambda: list(rpc(iter(seq), timeout=30)))
    assert code in ALLOWED, code


@settings(max_examples=max(20, EXAMPLES // 3), deadline=None, suppress_health_check=list(HealthCheck))
@given(config=configs, audio=st.binary(max_size=20000), raw=st.booleans())
def test_fuzzed_recognize(channel, config, audio, raw):
    rpc = channel.unary_unary(SPEECH + "Recognize", request_serializer=lambda b: b, response_deserializer=lambda b: b)
    data = audio if raw else pb.RecognizeRequest(config=config, audio=audio).SerializeToString()
    code = _status(lambda: rpc(data, timeout=30))
    assert code in ALLOWED, code


def test_healthy_with_every_slot_free_after_fuzzing(fuzz_server, channel):
    status = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10).status
    assert status == health_pb2.HealthCheckResponse.SERVING
    from tests.service.conftest import wait_for
    assert wait_for(lambda: fuzz_server.metric("wavestream_active_streams") == 0, timeout=30)
