"""Real server processes on loopback ports for the service tests."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.request

import grpc
import numpy as np
import pytest

from tests.conftest import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    def __init__(self, *extra: str, env: dict | None = None):
        self.metrics_port = free_port()
        # The base size with seeded random weights (what the tests compute expectations with), no LM
        # and no offline model: a quick start, and Recognize takes the stream path the tests compare
        # with streams. Tests of the shipped models, the LM and the offline path ask for them
        # (a later flag wins).
        cmd = [sys.executable, "-m", "clients.cli", "serve", "--untrained", "--model", "wavenet-base", "--lm", "none",
               "--offline-model", "", "--port", "0", "--metrics-port", str(self.metrics_port), *extra]
        import os

        self.proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, **(env or {})})
        self.log: list[str] = []
        self.address = None
        for line in self.proc.stderr:
            self.log.append(line)
            m = re.search(r"serving \S+ on (\S+):(\d+)", line)
            if m:
                self.port = int(m.group(2))
                self.address = f"127.0.0.1:{self.port}"
                break
        if self.address is None:
            raise RuntimeError("server did not start:\n" + "".join(self.log))
        self._drain = threading.Thread(target=self._read, daemon=True)
        self._drain.start()

    def _read(self):
        for line in self.proc.stderr:
            self.log.append(line)

    def metrics(self) -> str:
        return urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).read().decode()

    def metric(self, name: str) -> float:
        m = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", self.metrics(), re.M)
        return float(m.group(1)) if m else float("nan")

    def wait(self, timeout=60) -> int:
        """The exit code, once the process is gone and every line it wrote is in `log`."""
        code = self.proc.wait(timeout)
        self._drain.join(timeout)
        return code

    def stop(self, sig=signal.SIGTERM, timeout=60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait(timeout)


@pytest.fixture(scope="session")
def server():
    s = ServerProcess("--max-streams", "80", "--max-batch", "64")
    yield s
    assert s.stop() == 0
    assert not [l for l in s.log if "Traceback" in l], "".join(s.log)


@pytest.fixture(scope="session")
def lj_manifest(shared_data) -> list[dict]:
    path = shared_data / "real" / "lj-amateur.jsonl"
    rows = [json.loads(l) for l in path.read_text().splitlines() if l.strip()]
    for r in rows:
        r["path"] = str(path.parent / r["audio"])
    return rows


def pcm16(audio: np.ndarray) -> bytes:
    return (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()


def read16k(path) -> np.ndarray:
    from models.audio import read_audio

    return read_audio(path, 16000)[0]


def wait_for(predicate, timeout: float = 10.0) -> bool:
    import time

    deadline = time.time() + timeout
    while not predicate():
        if time.time() > deadline:
            return False
        time.sleep(0.05)
    return True


class HeldStreams:
    """`n` streams that send a config and one chunk, then stay open until the block ends."""

    def __init__(self, client, n: int, config):
        from protos.wavestream.v1 import speech_pb2 as pb

        self.gate = threading.Event()

        def requests():
            yield pb.StreamingRecognizeRequest(config=config)
            yield pb.StreamingRecognizeRequest(audio=pcm16(np.zeros(1600)))
            self.gate.wait(30)

        self.calls = [client.stub.StreamingRecognize(requests(), metadata=client.metadata) for _ in range(n)]
        self.threads = [threading.Thread(target=self._drain, args=(c,), daemon=True) for c in self.calls]

    @staticmethod
    def _drain(call):
        try:
            list(call)
        except grpc.RpcError:
            pass  # cancelled by the test

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.gate.set()
        for t in self.threads:
            t.join(30)
