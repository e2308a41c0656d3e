"""`make serve`, the README's first command, starts a server on 127.0.0.1:50051."""

import os
import signal
import socket
import subprocess

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from models.registry import list_models
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
        if not any(m.trained and m.family == "wavenet" for m in list_models()):
            assert any("no trained weights ship yet" in l for l in log)
        with grpc.insecure_channel("127.0.0.1:50051") as ch:
            status = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=10).status
        assert status == health_pb2.HealthCheckResponse.SERVING
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(60)
