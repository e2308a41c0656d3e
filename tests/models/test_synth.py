"""Synthetic speech: real TTS engines, resumable, in the manifest format training reads."""

import json

import pytest
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


def test_every_engine_gets_its_share_however_many_voices_it_has(tmp_path):
    """espeak-ng has hundreds of variants and flite four: utterances are spread by engine first."""
    require_tool("espeak-ng")
    require_tool("flite")
    text = tmp_path / "text.txt"
    text.write_text("one two three\nfour five six\nseven eight nine\n")
    out = tmp_path / "synth"
    synthesise(text, out, hours=90 / 3600, workers=2, voices=["espeak-ng", "flite"], progress=False)
    engines = [r["engine"] for r in map(json.loads, (out / "manifest.jsonl").read_text().splitlines())]
    assert len(engines) >= 40
    share = engines.count("flite") / len(engines)
    assert 0.3 < share < 0.7, share  # by voice count it would be under 1%


def test_engines_beyond_espeak_and_flite_render_where_installed(tmp_path):
    """RHVoice, pico and festival voices (scripts/install-tts.sh) each speak a sentence."""
    voices = [v for v in installed_voices() if v.engine in ("rhvoice", "pico", "festival")]
    if not voices:
        pytest.skip("no RHVoice, pico or festival voice installed (scripts/install-tts.sh --non-free)")
    text = tmp_path / "text.txt"
    text.write_text("the weather is fine today\n")
    for v in {v.engine: v for v in voices}.values():
        out = tmp_path / v.engine
        synthesise(text, out, hours=2 / 3600, workers=1, voices=[v.key], progress=False)
        rows = read_manifest(out / "manifest.jsonl")
        assert rows and all(r.speaker == v.key and r.duration > 0.5 for r in rows)


def test_hours_are_met_without_much_over_and_utterances_are_the_seeds_first(tmp_path):
    """Sentences much longer than the first guess of 3 s an utterance still stop near the asked
    hours; `utterances=N` makes exactly the seed's first N, in one run or resumed."""
    require_tool("espeak-ng")
    text = tmp_path / "text.txt"
    text.write_text("the long sentences of this list take a text to speech voice several seconds to say\n"
                    "seven hundred and twelve apples were counted twice by the patient farmer today\n")
    out = tmp_path / "hours"
    report = synthesise(text, out, hours=120 / 3600, workers=2, voices=["espeak-ng"], progress=False)
    longest = max(r.duration for r in read_manifest(out / "manifest.jsonl"))
    assert longest > 4.0  # what a fixed 3 s guess over-asks for
    assert 120 <= report["hours"] * 3600 < 120 + 2 * longest

    def made(folder):
        return {json.loads(l)["audio"]: json.loads(l) for l in (folder / "manifest.jsonl").read_text().splitlines()}

    whole = tmp_path / "whole"
    assert synthesise(text, whole, utterances=6, workers=2, voices=["espeak-ng"], seed=5, progress=False)["utterances"] == 6
    resumed = tmp_path / "resumed"
    synthesise(text, resumed, utterances=2, workers=2, voices=["espeak-ng"], seed=5, progress=False)
    synthesise(text, resumed, utterances=6, workers=2, voices=["espeak-ng"], seed=5, progress=False)
    a, b = made(whole), made(resumed)
    assert sorted(a) == sorted(b) == [f"audio/5-{i:07d}.flac" for i in range(6)]
    assert all((a[k]["speaker"], a[k]["text"], a[k]["rate"]) == (b[k]["speaker"], b[k]["text"], b[k]["rate"]) for k in a)
    with pytest.raises(ValueError, match="hours or utterances"):
        synthesise(text, tmp_path / "neither", workers=1, progress=False)


def test_festival_kept_between_utterances_makes_text2waves_waves(tmp_path):
    """A worker's festival processes (models.synth, one a voice) write the bytes text2wave writes, whichever voice
    spoke before; a call that fails raises, and the next utterance gets a working process."""
    import subprocess

    from models import synth

    require_tool("text2wave")
    voices = [v.name for v in installed_voices() if v.engine == "festival"]
    assert voices, "no festival voice installed (scripts/install-system-deps.sh installs one)"
    texts = ["the weather is fine today", "seven hundred and twelve apples were counted twice", "a"]
    order = [(v, t) for t in texts for v in voices] + [(v, t) for v in reversed(voices) for t in texts]
    try:
        for i, (voice, text) in enumerate(order):
            ours, theirs = tmp_path / f"{i}.wav", tmp_path / f"{i}-text2wave.wav"
            synth._festival_text2wave(voice, text, str(ours))
            subprocess.run(["text2wave", "-eval", f"(voice_{voice})", "-o", str(theirs)], input=text, text=True,
                           check=True, capture_output=True, timeout=120)
            assert ours.read_bytes() == theirs.read_bytes(), (voice, text)
        with pytest.raises(subprocess.SubprocessError, match="voice_no_such_voice"):
            synth._festival_text2wave("no_such_voice", "hello", str(tmp_path / "x.wav"))
        synth._festival_text2wave(voices[0], texts[0], str(tmp_path / "again.wav"))
        assert (tmp_path / "again.wav").read_bytes() == (tmp_path / "0.wav").read_bytes()
    finally:
        synth.close_festivals()
