"""`wavestream bench delay`: a word spoken -> the stream has it, on real speech with the shipped models."""

import json

import pytest

from clients import bench_delay
from models.recogniser import widened_lookahead
from models.registry import load_model
from tests.clients.test_cli_engine import wavestream


@pytest.fixture(scope="module")
def lj_manifest(shared_data, tmp_path_factory):
    rows = [json.loads(line) for line in (shared_data / "real" / "lj-amateur.jsonl").read_text().splitlines()[:2]]
    manifest = tmp_path_factory.mktemp("delay") / "lj.jsonl"
    manifest.write_text("".join(json.dumps({**r, "audio": str(shared_data / "real" / r["audio"])}) + "\n"
                                for r in rows))
    return manifest, rows


def test_every_frame_of_lookahead_is_a_frame_of_delay(lj_manifest):
    """The same model hearing four frames further ahead (its new taps zero: the same readings, each frame later)
    has every word 160 ms later, at a chunk of one frame and of four."""
    manifest, rows = lj_manifest
    model, offline = load_model("wavenet-cpu"), load_model("logmel-cnn-cpu")
    wide = widened_lookahead(model, model.cfg.lookahead_frames + 4)
    before = bench_delay.run(model, offline, [str(manifest)], [40, 160])
    after = bench_delay.run(wide, offline, [str(manifest)], [40, 160])
    assert after["lookahead_ms"] == before["lookahead_ms"] + 160
    (b,), (a,) = before["sets"], after["sets"]
    assert b["clips"] == a["clips"] == 2 and b["skipped"] == 0
    for rb, ra in zip(b["rows"], a["rows"]):
        assert rb["words"] == ra["words"] == sum(len(r["text"].split()) for r in rows)
        for k in ("p50_ms", "p95_ms", "mean_ms", "min_ms", "max_ms"):
            assert ra[k] == rb[k] + 160, (k, rb, ra)


def test_bench_delay_from_the_command_line(lj_manifest):
    manifest, _ = lj_manifest
    r = wavestream("bench", "delay", str(manifest), "--chunk-ms", "40,160", "--limit", "1", "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["model"] == "wavenet-cpu" and report["reference"] == "logmel-cnn-cpu"
    rows = report["sets"][0]["rows"]
    assert [row["chunk_ms"] for row in rows] == [40, 160]
    assert rows[1]["mean_ms"] > rows[0]["mean_ms"]  # a larger chunk waits longer to fill
    assert report["command"].startswith("wavestream bench delay")


def test_bench_delay_says_what_it_cannot_use(lj_manifest, tmp_path):
    manifest, _ = lj_manifest
    r = wavestream("bench", "delay", str(manifest), "--model", "logmel-cnn-cpu")
    assert r.returncode != 0 and "offline-only" in r.stderr and "Traceback" not in r.stderr
    r = wavestream("bench", "delay", str(manifest), "--chunk-ms", "40,x")
    assert r.returncode != 0 and "--chunk-ms" in r.stderr and "Traceback" not in r.stderr
    r = wavestream("bench", "delay", str(tmp_path / "missing.jsonl"))
    assert r.returncode != 0 and "missing.jsonl" in r.stderr and "Traceback" not in r.stderr
