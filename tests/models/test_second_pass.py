"""A stream's finals re-decoded by the offline model over each utterance's audio (the second pass):
partials stay the streaming model's, finals are what the offline model makes of the same audio."""

import json

import numpy as np
import pytest

import models.engine
from models.audio import read_audio
from models.beam import BeamDecoder, Constraint
from models.engine import Recogniser
from models.registry import SHIPPED_LM, load_model

RATE = 16000


@pytest.fixture(scope="module")
def recognisers():
    streaming, offline = load_model("wavenet-cpu"), load_model("logmel-cnn-cpu")
    beam = BeamDecoder.for_model(streaming.cfg, SHIPPED_LM)
    second = Recogniser(offline, beam=beam)
    return Recogniser(streaming, max_streams=2, beam=beam, second_pass=second), second


@pytest.fixture(scope="module")
def clips(shared_data):
    path = shared_data / "real" / "lj-amateur.jsonl"
    rows = [json.loads(l) for l in path.read_text().splitlines() if l.strip()][:2]
    return [read_audio(path.parent / r["audio"], RATE)[0] for r in rows]


def stream(rec, audio, chunk=2560, **kw):
    s = rec.open_stream(**kw)
    partials = [s.accept(audio[i:i + chunk]).text for i in range(0, len(audio), chunk)]
    return s, partials


def test_a_streams_final_is_the_offline_models_transcript_of_its_audio(recognisers, clips):
    rec, offline = recognisers
    for audio in clips:
        s, partials = stream(rec, audio)
        final = s.finish()
        expected = offline.transcribe(audio, alternatives=3)
        s, _ = stream(rec, audio, alternatives=3)
        with_alternatives = s.finish()
        assert final.text == expected.text and final.text
        assert [a.text for a in with_alternatives.alternatives] == [a.text for a in expected.alternatives]
        assert [w.end_s for w in final.words] == pytest.approx([w.end_s for w in expected.words])
        # partials are the streaming model's own greedy reading, not the offline model's
        s, first_pass = stream(rec, audio, second_pass=False)
        assert partials == first_pass
        assert s.finish().text == rec.transcribe(audio).text


def test_each_utterance_is_re_decoded_alone_with_its_times(recognisers, clips):
    rec, offline = recognisers
    gap = np.zeros(RATE, dtype=np.float32)
    s, _ = stream(rec, np.concatenate([clips[0], gap]))
    first = s.end_utterance()  # as the endpointer does, in the silence after the first clip
    boundary = round(s.utterance_offset_s * RATE)
    for i in range(0, len(clips[1]), 2560):
        s.accept(clips[1][i:i + 2560])
    second = s.finish()
    whole = np.concatenate([clips[0], gap, clips[1]])
    assert first.text == offline.transcribe(whole[:boundary]).text
    assert second.text == offline.transcribe(whole[boundary:]).text
    assert all(w.start_s >= boundary / RATE for w in second.words)
    assert second.words[-1].end_s <= len(whole) / RATE


def test_a_constraint_holds_in_the_second_pass(recognisers, shared_data):
    rec, offline = recognisers
    audio = read_audio(shared_data / "real" / "fsdd" / "theo" / "7_theo_3.wav", RATE)[0]
    digits = Constraint.parse(vocabulary_set="digits")
    s, _ = stream(rec, audio, constraint=digits)
    assert s.finish().text == offline.transcribe(audio, constraint=digits).text == "seven"


def test_an_utterance_longer_than_the_limit_gets_the_first_pass_final(recognisers, clips, monkeypatch):
    rec, offline = recognisers
    monkeypatch.setattr(models.engine, "MAX_BEAM_S", 2.0)  # streams opened from here on keep 2 s
    long, short = np.concatenate([clips[0], clips[0]]), clips[1][: RATE]
    s, _ = stream(rec, long)
    greedy = s.partial().text
    assert s.end_utterance().text == greedy  # too long for the kept audio: the streaming model's greedy final
    boundary = round(s.utterance_offset_s * RATE)
    for i in range(0, len(short), 2560):
        s.accept(short[i:i + 2560])
    assert s.finish().text == offline.transcribe(np.concatenate([long, short])[boundary:]).text


def test_models_of_another_vocabulary_cannot_be_a_second_pass(recognisers):
    from models.config import ModelConfig
    from models.recogniser import SpeechRecogniser

    other = Recogniser(SpeechRecogniser(ModelConfig(name="other", vocab="abc ", d_model=16, subsample_channels=4,
                                                    dilations=[1])))
    with pytest.raises(ValueError, match="another vocabulary"):
        Recogniser(load_model("wavenet-cpu"), second_pass=other)
