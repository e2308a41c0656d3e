"""Real nginx with the project's own load-balancer config, on loopback, in front of two real servers."""

import asyncio
import re
import string
import subprocess
import time

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from clients.speech_client import AsyncSpeechClient, SpeechClient, final_transcripts, streaming_config
from models.engine import Recogniser
from models.registry import untrained_model
from protos.wavestream.v1 import speech_pb2 as pb
from tests.conftest import ROOT
from tests.service.conftest import ServerProcess, free_port, pcm16, wait_for

from .conftest import require_tool

NO_ENDPOINTS = pb.EndpointingConfig(disabled=True)


def render_template(**values: str) -> str:
    """What the nginx image's envsubst step does to /etc/nginx/templates/*.template."""
    text = (ROOT / "deploy" / "nginx" / "templates" / "wavestream.conf.template").read_text()
    return string.Template(text).safe_substitute(values)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    nginx = require_tool("nginx")
    replicas = [ServerProcess(), ServerProcess()]
    d = tmp_path_factory.mktemp("nginx")
    port = free_port()
    site = render_template(NGINX_RESOLVER="127.0.0.1", LB_PORT=f"127.0.0.1:{port}",
                           WAVESTREAM_UPSTREAMS=" ".join(f"server {r.address} max_fails=1 fail_timeout=30s;"
                                                         for r in replicas))
    (d / "wavestream.conf").write_text(site)
    # the same shape as the nginx image's own nginx.conf: the site is included inside http {}
    (d / "nginx.conf").write_text(f"""
daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 1024; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    include {d}/wavestream.conf;
}}
""")
    check = subprocess.run([nginx, "-t", "-p", str(d), "-c", str(d / "nginx.conf")], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen([nginx, "-p", str(d), "-c", str(d / "nginx.conf")], stderr=subprocess.PIPE, text=True)
    address = f"127.0.0.1:{port}"
    assert wait_for(lambda: _serving(address), timeout=30), (d / "error.log").read_text()
    yield address, replicas, d
    proc.terminate()
    proc.wait(30)
    for r in replicas:
        r.stop()


def _serving(address) -> bool:
    try:
        with grpc.insecure_channel(address) as ch:
            return health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=2).status == \
                health_pb2.HealthCheckResponse.SERVING
    except grpc.RpcError:
        return False


def requests_served(replica) -> float:
    text = replica.metrics()
    return sum(float(v) for v in re.findall(r'^wavestream_requests_total\{[^}]*\} ([0-9.e+]+)$', text, re.M))


def test_health_checks_pass_through_the_load_balancer(cluster):
    address, _, _ = cluster
    assert _serving(address)


def test_concurrent_streams_through_nginx_are_correct_and_reach_both_replicas(cluster):
    address, replicas, _ = cluster
    reference = Recogniser(untrained_model("wavenet-base"), max_streams=1)
    rng = np.random.default_rng(5)
    clips = [rng.standard_normal(16000 * 2).astype(np.float32) * 0.2 for _ in range(24)]
    expected = [reference.transcribe(np.frombuffer(pcm16(c), "<i2") / 32768.0).text for c in clips]

    async def run():
        # separate channels: nginx balances per connection and per call
        clients = [AsyncSpeechClient(address) for _ in range(6)]
        try:
            async def one(i, audio):
                config = streaming_config(16000, interim_results=False, endpointing=NO_ENDPOINTS)
                data = pcm16(audio)
                chunks = [data[k:k + 6400] for k in range(0, len(data), 6400)]
                return final_transcripts([r async for r in clients[i % 6].stream(chunks, config)])
            return await asyncio.gather(*(one(i, c) for i, c in enumerate(clips)))
        finally:
            for c in clients:
                await c.close()

    before = [requests_served(r) for r in replicas]
    got = asyncio.run(run())
    assert got == [[e] for e in expected]
    served = [requests_served(r) - b for r, b in zip(replicas, before)]
    assert all(s > 0 for s in served), f"requests per replica: {served}"
    assert sum(served) == len(clips)


def test_a_stream_survives_the_other_replica_being_stopped(cluster):
    address, replicas, _ = cluster
    reference = Recogniser(untrained_model("wavenet-base"), max_streams=1)
    audio = np.random.default_rng(9).standard_normal(16000 * 4).astype(np.float32) * 0.2
    data = pcm16(audio)
    expected = reference.transcribe(np.frombuffer(data, "<i2") / 32768.0).text
    started = time.time()

    def chunks():
        for k in range(0, len(data), 3200):
            if k == 3200 * 4:
                # find the replica carrying this stream; stop the other one mid-stream
                assert wait_for(lambda: any(r.metric("wavestream_active_streams") == 1 for r in replicas))
                carrying = next(r for r in replicas if r.metric("wavestream_active_streams") == 1)
                other = next(r for r in replicas if r is not carrying)
                assert other.stop() == 0
            yield data[k:k + 3200]

    with SpeechClient(address) as c:
        finals = final_transcripts(c.stream(chunks(), streaming_config(16000, endpointing=NO_ENDPOINTS)))
    assert finals == [expected]
    assert time.time() - started < 60
    # new calls keep working through the load balancer with one replica left
    with SpeechClient(address) as c:
        for _ in range(4):
            assert c.list_models().default_model == "wavenet-base"
    assert _serving(address)
