import json
import subprocess
import sys

from tests.conftest import ROOT


def test_eval_reports_wer_cer_and_streaming_matches_offline(shared_data, tmp_path):
    src = shared_data / "real" / "fsdd.jsonl"
    rows = [json.loads(l) for l in src.read_text().splitlines()][:12]
    manifest = tmp_path / "few.jsonl"
    manifest.write_text("".join(json.dumps({**r, "audio": str(src.parent / r["audio"])}) + "\n" for r in rows))
    outs = []
    for extra in ([], ["--streaming", "--chunk-ms", "37"]):
        r = subprocess.run([sys.executable, "-m", "clients.cli", "eval", str(manifest), "--untrained", "--json", *extra],
                           cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        outs.append(json.loads(r.stdout))
    offline, streaming = outs
    for o in outs:
        assert set(o) >= {"manifest", "wer", "cer", "n", "audio_s", "rtf"}
        assert o["n"] == 12 and o["audio_s"] > 0 and o["wer"] >= 0.9  # random weights: nearly every word wrong
    assert streaming["wer"] == offline["wer"] and streaming["cer"] == offline["cer"]
    assert streaming["examples"] == offline["examples"]
