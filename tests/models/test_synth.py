"""Synthetic speech: real TTS engines, resumable, in the manifest format training reads."""

import json

import soundfile as sf

from models.data import read_manifest
from models.synth import installed_voices, synthesise
from tests.deploy.conftest import require_tool


def test_synth_writes_a_manifest_of_16k_speech_and_resumes(tmp_path):
    require_tool("espeak-ng")
    require_tool("flite")
    text = tmp_path / "text.txt"
    text.write_text("the quick brown fox jumps over the lazy dog\nseven hundred and twelve apples\n"
                    "Numbers like 42 and Punctuation, are normalised!\n")
    keys = {v.key for v in installed_voices()}
    assert "flite:slt" in keys and any(k.startswith("espeak-ng:en-us+") for k in keys)
    out = tmp_path / "synth"
    report = synthesise(text, out, hours=20 / 3600, workers=2, exclude_voices=["flite:slt"], progress=False)
    assert report["hours"] * 3600 >= 20
    rows = read_manifest(out / "manifest.jsonl")
    assert len(rows) == report["utterances"] >= 3
    for r in rows:
        info = sf.info(str(r.audio))
        assert info.samplerate == 16000 and abs(info.duration - r.duration) < 0.01
        assert set(r.text) <= set(" 'abcdefghijklmnopqrstuvwxyz") and r.speaker != "flite:slt"
    # a second run with a larger target keeps every finished utterance and adds to them
    before = {r.audio.name for r in rows}
    synthesise(text, out, hours=40 / 3600, workers=2, exclude_voices=["flite:slt"], progress=False)
    after = {r.audio.name for r in read_manifest(out / "manifest.jsonl")}
    assert before < after
    lines = (out / "manifest.jsonl").read_text().splitlines()
    assert len(lines) == len({json.loads(l)["audio"] for l in lines})  # nothing written twice
