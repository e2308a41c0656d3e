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
from pathlib import Path

import grpc
import numpy as np
import pytest
import soundfile as sf

from tests.conftest import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    def __init__(self, *extra: str):
        self.metrics_port = free_port()
        cmd = [sys.executable, "-m", "clients.cli", "serve", "--untrained", "--port", "0",
               "--metrics-port", str(self.metrics_port), *extra]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True)
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

    def stop(self, sig=signal.SIGTERM, timeout=60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)


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
