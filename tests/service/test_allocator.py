"""The server fixes glibc's mmap threshold so that freed big buffers go back to the OS
(service/allocator.py); the soak test (tests/reliability) shows the effect on a real server."""

import subprocess
import sys

from tests.conftest import ROOT

from .conftest import ServerProcess

# A 16 MiB buffer freed (glibc then raises its threshold to 16 MiB), then 20 buffers of 8 MiB of
# which only the last is kept: how many MiB stay resident.
PROBE = """
import sys, numpy as np, psutil
from service.allocator import fix_mmap_threshold
fix_mmap_threshold(int(sys.argv[1]))
rss = lambda: psutil.Process().memory_info().rss / 2**20
a = np.ones(16 * 2**18, np.float32); del a
base = rss()
bufs = [np.ones(8 * 2**18, np.float32) for _ in range(20)]
keep = bufs[-1]; del bufs
print(rss() - base)
"""


def resident_after_freeing(threshold_kib: int) -> float:
    r = subprocess.run([sys.executable, "-c", PROBE, str(threshold_kib)], cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    return float(r.stdout)


def test_freed_big_buffers_leave_the_process_once_the_threshold_is_fixed():
    assert resident_after_freeing(128) < 24          # the kept 8 MiB buffer, and little else
    assert resident_after_freeing(0) > 100           # glibc's own policy keeps the 19 freed ones


def test_server_refuses_a_threshold_glibc_cannot_take():
    r = subprocess.run([sys.executable, "-m", "clients.cli", "serve", "--untrained", "--mmap-threshold-kb", "40000",
                        "--port", "0", "--metrics-port", "0"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert "--mmap-threshold-kb" in r.stderr and "32768 KiB" in r.stderr


def test_server_fixes_the_threshold_it_is_given():
    s = ServerProcess("--mmap-threshold-kb", "128")
    try:
        assert any("buffers of 128 KiB and more are returned to the OS" in line for line in s.log), s.log
    finally:
        s.stop()
