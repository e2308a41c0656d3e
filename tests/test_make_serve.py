"""`make serve`, the README's first command, starts a server on 127.0.0.1:50051."""

import os
import signal
import socket
import subprocess

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from protos.wavestream.v1 import speech_pb2 as pb
from protos.wavestream.v1 import speech_pb2_grpc as pb_grpc
from tests.conftest import ROOT


def test_make_serve_starts_a_healthy_server_on_the_documented_port():
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", 50051)) == 0:
            pytest.skip("something else is listening on 127.0.0.1:50051")
    proc = subprocess.Popen(["make", "serve"], cwd=ROOT, stderr=subprocess.PIPE, text=True, start_new_session=True)
    log = []
    try:
        for line in proc.stderr:
            log.append(line)
            if "serving" in line and "127.0.0.1:50051" in line:
                break
        else:
            pytest.fail("make serve did not start:\n" + "".join(log))
        with grpc.insecure_channel("127.0.0.1:50051") as ch:
            status = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=10).status
            models = pb_grpc.SpeechStub(ch).ListModels(pb.ListModelsRequest(), timeout=10)
        assert status == health_pb2.HealthCheckResponse.SERVING
        # the shipped, trained models: streaming for streams, offline for files
        assert models.default_model == "wavenet-cpu"
        assert {(m.name, m.trained) for m in models.models} == {("wavenet-cpu", True), ("logmel-cnn-cpu", True)}
        assert any("beam search with" in line and "english-3gram" in line for line in log)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(60)
