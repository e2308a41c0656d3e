"""Where utterances end: `wavestream bench endpoint` (speech ends -> its final line arrives, through a real server
at a microphone's pace) and `wavestream mic --silence-after-s`, with the shipped models."""

import json

import numpy as np
import pytest
import soundfile as sf

from models.audio import read_audio
from tests.clients.test_cli_engine import wavestream
from tests.service.test_decoding import SHIPPED


@pytest.fixture(scope="module")
def shipped():
    from tests.service.conftest import ServerProcess

    s = ServerProcess(*SHIPPED)
    yield s
    assert s.stop() == 0


@pytest.fixture(scope="module")
def paused_manifest(shared_data, tmp_path_factory):
    """Two real sentences with a second of digital silence between them, one recording: a pause the
    endpointer takes for an utterance's end at a short setting and not at a long one."""
    rows = [json.loads(line) for line in (shared_data / "real" / "lj-amateur.jsonl").read_text().splitlines()[:2]]
    parts = [read_audio(shared_data / "real" / r["audio"], 16000)[0] for r in rows]
    folder = tmp_path_factory.mktemp("endpoint")
    sf.write(folder / "paused.wav", np.concatenate([parts[0], np.zeros(16000, np.float32), parts[1]]), 16000)
    (folder / "first-s").write_text(str(len(parts[0]) / 16000))  # where the pause starts
    manifest = folder / "paused.jsonl"
    manifest.write_text(json.dumps({"audio": "paused.wav", "text": " ".join(r["text"] for r in rows)}) + "\n")
    return manifest


def test_a_pause_longer_than_the_setting_cuts_and_the_final_waits_the_setting(paused_manifest, shipped):
    r = wavestream("bench", "endpoint", str(paused_manifest), "--silence-after-s", "0.6,2.5", "--quiet-after-s",
                   "0.6", "--tail-s", "3.5", "--server", shipped.address, "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["command"].startswith("wavestream bench endpoint")
    (s,) = report["sets"]
    assert s["clips"] == 1 and s["skipped"] == 0
    short, long, quiet = s["rows"]
    assert (short["silence_after_text_s"], long["silence_after_text_s"]) == (0.6, 2.5)
    assert (short["quiet_after_text_s"], long["quiet_after_text_s"], quiet["quiet_after_text_s"]) == (0, 0, 0.6)
    # the quiet rule hears the pause as the silence rule at the same setting does, and the end of speech without the
    # streaming model's delay (its lookahead and late letters): sooner by some of that
    assert quiet["clips_cut"] == 1 and quiet["timed"] == 1 and quiet["missed"] == 0
    assert 0 < quiet["audio_wait_ms_p50"] <= short["audio_wait_ms_p50"] - 200
    assert " ".join(f["text"] for f in s["utterances"][0]["finals"]["quiet 0.6"]).split()[-2:] == ["fourteen",
                                                                                                   "seventy"]
    # at 0.6 s the second's pause ends the first sentence (and the second sentence's comma may end more); at 2.5 s
    # nothing is cut
    assert short["clips_cut"] == 1 and short["cut"] >= 1 and long["cut"] == long["clips_cut"] == 0
    (utterance,) = s["utterances"]
    first_end = paused_manifest.with_name("first-s").read_text()
    assert float(first_end) < utterance["finals"]["0.6"][0]["audio_received_s"] < float(first_end) + 1.0
    # each setting's final comes after speech end, the endpointer having waited the setting's silence: the two
    # differ by 1.9 s of audio, give or take the 100 ms block it is decided at
    assert short["timed"] == long["timed"] == 1 and short["missed"] == long["missed"] == 0
    assert 1750 <= long["audio_wait_ms_p50"] - short["audio_wait_ms_p50"] <= 2050
    for row in (short, long):
        assert row["final_ms_p50"] >= row["audio_wait_ms_p50"] > 0
    # the finals on either side of a cut are joined: the words of both sentences, as the uncut stream has them
    assert len(utterance["finals"]["2.5"]) == 1
    assert " ".join(f["text"] for f in utterance["finals"]["0.6"]).split()[-2:] == ["fourteen", "seventy"]


def test_bench_endpoint_says_what_it_cannot_use(paused_manifest, tmp_path):
    r = wavestream("bench", "endpoint", str(paused_manifest), "--silence-after-s", "0.6,x")
    assert r.returncode != 0 and "--silence-after-s" in r.stderr and "Traceback" not in r.stderr
    r = wavestream("bench", "endpoint", str(paused_manifest), "--silence-after-s", "1.2", "--tail-s", "1")
    assert r.returncode != 0 and "--tail-s" in r.stderr and "Traceback" not in r.stderr
    r = wavestream("bench", "endpoint", str(paused_manifest), "--reference", "wavenet-cpu")
    assert r.returncode != 0 and "streaming model" in r.stderr and "Traceback" not in r.stderr
    r = wavestream("bench", "endpoint", str(tmp_path / "missing.jsonl"))
    assert r.returncode != 0 and "missing.jsonl" in r.stderr and "Traceback" not in r.stderr


def test_mic_silence_setting_decides_where_utterances_end(paused_manifest, shipped):
    """The same recording through `wavestream mic --file`: with the quiet rule off, one final line at 2.5 s of
    silence, and at 0.6 s the second's pause ends the first sentence; with the server's defaults, the quiet rule's
    second of quiet audio ends it too."""
    paused = str(paused_manifest.with_name("paused.wav"))
    finals = {}
    for name, flags in (("0.6", ["--silence-after-s", "0.6", "--quiet-after-s", "0"]),
                        ("2.5", ["--silence-after-s", "2.5", "--quiet-after-s", "0"]), ("defaults", [])):
        r = wavestream("mic", "--file", paused, "--fast", *flags, "--server", shipped.address)
        assert r.returncode == 0, r.stderr
        finals[name] = [line for line in r.stdout.splitlines() if line.strip()]
    assert len(finals["2.5"]) == 1 and finals["2.5"][0].startswith("[0] ")
    for name in ("0.6", "defaults"):
        assert len(finals[name]) >= 2 and finals[name][1].startswith("[1] "), name
        assert finals[name][-1].endswith("fourteen seventy")
    assert finals["2.5"][0].endswith("fourteen seventy")
    for flag in ("--silence-after-s", "--quiet-after-s"):
        r = wavestream("mic", "--file", paused, flag, "-1", "--server", shipped.address)
        assert r.returncode == 2 and flag in r.stderr


def test_a_bench_stopped_by_sigterm_stops_the_server_it_started(paused_manifest):
    """SIGTERM (a CI timeout, `kill`, a container stopping) ends the bench and the server it started, not just
    the bench."""
    import signal
    import subprocess
    import sys
    import time

    import psutil

    from tests.conftest import ROOT

    bench = subprocess.Popen([sys.executable, "-m", "clients.cli", "bench", "endpoint", str(paused_manifest),
                              "--silence-after-s", "1.2", "--tail-s", "3"], cwd=ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    servers = []
    while not servers and time.monotonic() < deadline and bench.poll() is None:
        servers = [p for p in psutil.Process(bench.pid).children() if "serve" in p.cmdline()]
        time.sleep(0.2)
    assert servers, "the bench started no server"
    time.sleep(8)  # the server serving (its models loaded) and a stream under way
    bench.send_signal(signal.SIGTERM)
    assert bench.wait(60) == 128 + signal.SIGTERM
    gone, alive = psutil.wait_procs(servers, timeout=60)
    assert not alive, [p.cmdline() for p in alive]
    assert "Traceback" not in bench.stderr.read()
