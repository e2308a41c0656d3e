"""A short soak in CI: churned streams for half a minute, then every slot is free and
memory (the server's and its beam search workers'), threads and file descriptors are flat. The long run's figures are in the README."""

import json
import os
import subprocess
import sys

from tests.conftest import ROOT
from tests.service.conftest import free_port


def test_short_soak_frees_every_slot_and_memory_stays_flat():
    # The server returns freed buffers to the OS at once (--mmap-threshold-kb): with malloc's own policy
    # its resident memory saw-tooths by ~10% as buffers are kept for reuse, which would hide a leak
    # as well as fake one; with it, what grows is memory something still holds.
    env = {**os.environ, "WAVESTREAM_MMAP_THRESHOLD_KB": "128"}
    r = subprocess.run([sys.executable, "-m", "clients.cli", "bench", "soak", "--untrained", "--streams", "8",
                        "--minutes", "0.75", "--idle-timeout-s", "2", "--metrics-port", str(free_port()), "--json"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    report = json.loads(r.stdout)
    assert r.returncode == 0, r.stderr
    assert report["errors"] == 0 and report["completed"] > 0
    assert report["server_device"] == os.environ.get("WAVESTREAM_DEVICE", "cpu")
    assert report["active_streams_end"] == 0
    assert report["rss_growth_percent"] < 3, report["samples"]
    # the beam search workers (two, each with the LM) settle within the first half minute (+2% seen)
    assert report["workers_rss_mb_after_warmup"] > 100 and report["workers_rss_growth_percent"] < 5, report["samples"]
    assert report["fds_end"] <= report["fds_start"] + 4
    assert report["threads_end"] <= report["threads_start"] + 4
