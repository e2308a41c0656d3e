"""`wavestream transcribe`, `mic --file` and `bench service` against a real server."""

import json
import os
import subprocess
import sys

import numpy as np
import soundfile as sf

import pytest
import torch

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def server():
    from tests.service.conftest import ServerProcess

    s = ServerProcess()
    yield s
    s.stop()


def wavestream(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "clients.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def make_files(d, lj_clip):
    d.mkdir()
    data, rate = sf.read(lj_clip)
    sf.write(d / "a.wav", data, rate)
    sf.write(d / "b.flac", data[: rate * 2], rate)
    sf.write(d / "c.ogg", np.stack([data, data], 1), rate)
    (d / "broken.mp3").write_bytes(b"ID3 this is not audio")
    return ["a", "b", "c"]


def test_transcribe_a_folder_keeps_going_past_a_bad_file(server, tmp_path, lj_clip):
    names = make_files(tmp_path / "in", lj_clip)
    out = tmp_path / "out"
    r = wavestream("transcribe", str(tmp_path / "in"), "--format", "json", "--out", str(out), "-j", "3",
                   "--server", server.address)
    assert r.returncode == 1
    assert "3 transcribed" in r.stderr and "1 failed" in r.stderr and "broken.mp3" in r.stderr
    for n in names:
        doc = json.loads((out / f"{n}.json").read_text())
        assert doc["segments"] and doc["text"] and doc["audio_s"] > 0
        assert all(w["start"] < w["end"] for s in doc["segments"] for w in s["words"])
    assert not list(out.glob("*.partial"))
    # a second run redoes nothing that is finished and still reports the bad file
    before = {p: p.stat().st_mtime_ns for p in out.iterdir()}
    r = wavestream("transcribe", str(tmp_path / "in"), "--format", "json", "--out", str(out), "--server", server.address)
    assert "0 transcribed, 3 already done, 1 failed" in r.stderr
    assert {p: p.stat().st_mtime_ns for p in out.iterdir()} == before


@pytest.mark.parametrize("fmt", ["txt", "srt", "vtt"])
def test_transcribe_formats_beside_the_input(server, tmp_path, lj_clip, fmt):
    data, rate = sf.read(lj_clip)
    src = tmp_path / "talk.wav"
    sf.write(src, data, rate)
    r = wavestream("transcribe", str(src), "--format", fmt, "--server", server.address, "--quiet")
    assert r.returncode == 0, r.stderr
    text = (tmp_path / f"talk.{fmt}").read_text()
    assert text.strip()
    if fmt == "srt":
        assert text.startswith("1\n00:00:") and " --> " in text
    if fmt == "vtt":
        assert text.startswith("WEBVTT\n\n00:00:")


def test_mic_file_feeds_the_live_path_and_prints_finals(server, lj_clip):
    r = wavestream("mic", "--file", str(lj_clip), "--fast", "--server", server.address)
    assert r.returncode == 0, r.stderr
    lines = [l for l in r.stdout.splitlines() if l.strip()]
    assert lines and lines[0].startswith("[0] ")


def test_transcribe_reports_an_unreachable_server(tmp_path, lj_clip):
    data, rate = sf.read(lj_clip)
    sf.write(tmp_path / "x.wav", data[:rate], rate)
    r = wavestream("transcribe", str(tmp_path / "x.wav"), "--server", "127.0.0.1:1", "--quiet")
    assert r.returncode == 1 and "UNAVAILABLE" in r.stderr


@pytest.mark.parametrize("jobs", ["0", "-2", "two"])
def test_transcribe_refuses_a_job_count_below_one(tmp_path, lj_clip, jobs):
    r = wavestream("transcribe", lj_clip, "--out", str(tmp_path), "-j", jobs, "--server", "127.0.0.1:1")
    assert r.returncode == 2 and f"--jobs: must be 1 or more, got '{jobs}'" in r.stderr, r.stderr
    assert not list(tmp_path.iterdir())


def test_bench_service_reports_sustained_streams():
    r = wavestream("bench", "service", "--untrained", "--streams", "4", "--seconds", "2", "--json", timeout=300)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    row = report["levels"][0]
    assert row["streams"] == 4 and row["errors"] == 0 and row["partial_ms_p95"] < 1e9
    assert report["max_streams_sustained"] in (0, 4)
    assert report["server_device"] == os.environ.get("WAVESTREAM_DEVICE", "cpu")  # the server's own default
    assert report["target"].startswith("127.0.0.1:")


def test_bench_service_sessions_come_and_go(server, lj_clip):
    """--session-s: each of the N runs short streams back to back, so there are more finals
    than streams, spread over the level."""
    r = wavestream("bench", "service", "--server", server.address, "--audio", str(lj_clip), "--streams", "3",
                   "--seconds", "5", "--session-s", "1,1.5", "--json", timeout=300)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    row = report["levels"][0]
    assert report["session_s"] == [1.0, 1.5]
    assert report["server_device"] is None  # a server it did not start does not say where it runs
    assert row["errors"] == 0 and row["finals"] > 3 and row["final_ms_p95"] < 1e9


@pytest.mark.parametrize("value, message", [("2,1", "0.5 <= MIN <= MAX"), ("x", "MIN,MAX"),
                                            ("9", "longer than --seconds")])
def test_bench_service_refuses_a_bad_session_range(value, message):
    r = wavestream("bench", "service", "--streams", "1", "--seconds", "5", "--session-s", value)
    assert r.returncode == 2 and message in r.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without CUDA")
def test_bench_service_says_why_its_server_did_not_start():
    r = wavestream("bench", "service", "--untrained", "--device", "cuda", "--streams", "1", "--seconds", "1",
                   timeout=300)
    assert r.returncode != 0
    assert "the server did not start" in r.stderr and "CUDA is not available" in r.stderr
    assert "Traceback" not in r.stderr
