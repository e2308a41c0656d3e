"""The engine commands as a user runs them."""

import json
import subprocess
import sys

import numpy as np
import soundfile as sf

from tests.conftest import ROOT


def wavestream(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "clients.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def test_check_streaming_on_real_speech(lj_clip):
    r = wavestream("check-streaming", str(lj_clip), "--untrained", "--chunk-ms", "10,37,160,1000", "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["max_abs_diff"] <= 1e-4 and report["transcripts_equal"] is True
    assert [c["chunk_ms"] for c in report["chunkings"]] == [10, 37, 160, 1000]


def test_check_streaming_on_other_rates_and_stereo(tmp_path):
    t = np.arange(22050 * 2) / 22050
    stereo = np.stack([np.sin(2 * np.pi * 220 * t), np.random.default_rng(0).standard_normal(t.size) * 0.1], 1)
    path = tmp_path / "stereo.ogg"
    sf.write(path, stereo.astype(np.float32), 22050)
    r = wavestream("check-streaming", str(path), "--untrained", "--chunk-ms", "1,333", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["duration_s"] == 2.0


def test_check_streaming_errors_are_clear(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF not really")
    r = wavestream("check-streaming", str(bad), "--untrained")
    assert r.returncode != 0 and "cannot decode audio" in r.stderr
    r = wavestream("check-streaming", str(bad), "--model", "nope")
    assert r.returncode != 0 and "unknown model 'nope'" in r.stderr


def test_bench_engine_quick_reports_every_figure():
    r = wavestream("bench", "engine", "--untrained", "--quick", "--cpu-only", "--json", timeout=600)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    single = {row["model"]: row for row in report["single_stream_1_thread"]}
    assert single["wavenet-base"]["streaming_rtf"] > 0 and "chunk_latency_ms_p95" in single["wavenet-base"]
    assert "offline_rtf" in single["logmel-cnn-base"]
    rows = report["cached_vs_recompute_1_thread"]
    assert rows[-1]["speedup"] > rows[0]["speedup"]  # recompute grows with history, the cached step does not
    assert len({row["state_bytes_per_stream"] for row in rows}) == 1
    assert [r["batch"] for r in report["batched"]["cpu"]["rows"]] == [1, 8]


def test_bench_files_times_one_and_two_search_workers_to_the_same_finals(shared_data):
    clips = sorted((shared_data / "real" / "lj-amateur").glob("*.flac"))[:20]
    r = wavestream("bench", "files", "--audio", *map(str, clips), "--minutes", "2.5", "--repeat", "1", "--json",
                   timeout=600)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["same_finals"] is True and report["pieces"] >= 2  # 150 s: past the search's 120 s limit
    assert [row["search_workers"] for row in report["rows"]] == [1, 2]
    assert report["audio_s"] == 150.0 and all(row["wall_s_median"] > 0 for row in report["rows"])
    assert report["command"].startswith("wavestream bench files --audio")
    assert report["blend_rescore"] == 8  # as the server reads files: blended, the searches' texts scored again


def test_bench_files_says_what_is_wrong_with_its_audio(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF not really")
    r = wavestream("bench", "files", "--audio", str(bad), "--minutes", "1")
    assert r.returncode != 0 and "cannot decode audio" in r.stderr


def _fsdd_manifest(shared_data, tmp_path, n: int = 60):
    """The first n FSDD clips as a manifest of absolute paths, and its rows."""
    rows = [json.loads(line) for line in (shared_data / "real" / "fsdd.jsonl").read_text().splitlines()[:n]]
    manifest = tmp_path / "fsdd.jsonl"
    manifest.write_text("".join(json.dumps({**r, "audio": str(shared_data / "real" / r["audio"])}) + "\n"
                                for r in rows))
    return manifest, rows


def test_bench_loader_counts_the_augmented_audio_each_worker_count_makes(shared_data, tmp_path):
    """What a GPU lease's steps are read against: seconds of training audio a second, in process and in workers."""
    manifest, rows = _fsdd_manifest(shared_data, tmp_path)
    r = wavestream("bench", "loader", "--data", f"{manifest}:2", "--noise-dir", str(shared_data / "noise"),
                   "--rir-dir", str(shared_data / "rir"), "--batch-seconds", "5", "--seconds", "2",
                   "--workers", "0", "1", "--json", timeout=300)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert [row["workers"] for row in report["rows"]] == [0, 1]
    assert all(row["batches"] > 0 and row["audio_s_per_s"] > 0 for row in report["rows"])
    assert all(0 < row["audio_s_per_batch"] <= 5 * 1.2 for row in report["rows"])  # batches of 5 s (sped up <= 1.2x)
    assert report["noise"] and report["rir"]
    assert report["data_hours"] == round(sum(r["duration"] for r in rows) / 3600, 2)
    assert report["command"].startswith("wavestream bench loader --data")


def test_bench_loader_says_which_manifest_it_cannot_read(tmp_path):
    r = wavestream("bench", "loader", "--data", str(tmp_path / "missing.jsonl"), "--seconds", "1")
    assert r.returncode != 0 and "missing.jsonl" in r.stderr and "Traceback" not in r.stderr


def test_bench_train_times_the_training_step_for_each_batch_size(shared_data, tmp_path):
    """The other bound on a lease's steps: the step alone, on batches made beforehand, one row per batch size."""
    manifest, _ = _fsdd_manifest(shared_data, tmp_path)
    r = wavestream("bench", "train", "--config", "tiny", "--data", str(manifest), "--batch-seconds", "3", "6",
                   "--seconds", "2", "--json", timeout=300)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["configs"] == ["tiny"] and [row["batch_seconds"] for row in report["rows"]] == [3.0, 6.0]
    assert all(row["steps"] > 0 and row["steps_per_s"] > 0 and row["audio_s_per_s"] > 0 for row in report["rows"])
    assert all(row["peak_gpu_mib"] is None for row in report["rows"])  # on the CPU
    assert report["command"].startswith("wavestream bench train --config tiny")


def test_bench_train_says_what_it_cannot_use(tmp_path):
    r = wavestream("bench", "train", "--config", "tiny-ish", "--data", str(tmp_path / "x.jsonl"))
    assert r.returncode != 0 and "no preset tiny-ish" in r.stderr and "Traceback" not in r.stderr
    r = wavestream("bench", "train", "--config", "tiny", "--data", str(tmp_path / "missing.jsonl"), "--seconds", "1")
    assert r.returncode != 0 and "missing.jsonl" in r.stderr and "Traceback" not in r.stderr
