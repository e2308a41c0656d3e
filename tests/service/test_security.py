"""Bearer-token auth and TLS, end to end through real servers."""

import subprocess

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from clients.speech_client import SpeechClient, streaming_config

from .conftest import ServerProcess, pcm16

TOKEN = "s3cret-token-for-tests"


@pytest.fixture(scope="module")
def token_server():
    s = ServerProcess("--token", TOKEN)
    yield s
    s.stop()


def test_token_auth_accepts_the_right_token_and_refuses_others(token_server):
    with SpeechClient(token_server.address, token=TOKEN) as c:
        assert c.list_models().default_model
        assert list(c.stream([pcm16(np.zeros(3200))], streaming_config(16000))) is not None
    for token in (None, "wrong", TOKEN + "x"):
        with SpeechClient(token_server.address, token=token) as c:
            with pytest.raises(grpc.RpcError) as e:
                c.list_models()
            assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED and "bearer token" in e.value.details()
            with pytest.raises(grpc.RpcError) as e:
                list(c.stream([pcm16(np.zeros(3200))], streaming_config(16000)))
            assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_health_stays_open_for_load_balancers(token_server):
    with grpc.insecure_channel(token_server.address) as ch:
        assert health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest()).status == \
            health_pb2.HealthCheckResponse.SERVING


def test_the_token_never_reaches_the_logs(token_server):
    with SpeechClient(token_server.address, token="wrong-guess-123") as c:
        with pytest.raises(grpc.RpcError):
            c.list_models()
    assert not any(TOKEN in l or "wrong-guess-123" in l for l in token_server.log)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / "key.pem"),
                    "-out", str(d / "cert.pem"), "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True, capture_output=True)
    return d / "cert.pem", d / "key.pem"


def test_tls_end_to_end(tls_files):
    cert, key = tls_files
    s = ServerProcess("--tls-cert", str(cert), "--tls-key", str(key))
    try:
        target = f"localhost:{s.port}"
        with SpeechClient(target, tls_ca=str(cert)) as c:
            assert c.list_models().default_model == "wavenet-base"
            finals = [r for resp in c.stream([pcm16(np.zeros(16000))], streaming_config(16000)) for r in resp.results]
            assert finals == [] or finals[-1].is_final  # silence may give no final; the call must succeed
        with SpeechClient(target) as plain:  # a plaintext client cannot talk to a TLS server
            with pytest.raises(grpc.RpcError) as e:
                plain.list_models()
            assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        s.stop()
