"""Speech that runs to the very end of a file: its final is decoded with silence after it (the end
pad), streamed or not, and its times still stop where the audio does."""

import json

import pytest

from models.audio import read_audio
from models.engine import Recogniser
from models.evaluate import wer_cer
from models.registry import load_model


@pytest.fixture(scope="module")
def theo(shared_data):
    """FSDD's speaker held out of training: clips cut close around each digit."""
    path = shared_data / "real" / "fsdd.jsonl"
    rows = [json.loads(l) for l in path.read_text().splitlines() if l.strip()]
    return [(read_audio(path.parent / r["audio"], 16000)[0], r["text"]) for r in rows if r["speaker"] == "theo"]


@pytest.mark.parametrize("name", ["logmel-cnn-cpu", "wavenet-cpu"])
def test_a_word_cut_at_its_last_sound_is_recognised_better_with_the_end_pad(theo, name):
    model = load_model(name)
    padded, bare = Recogniser(model, max_streams=1), Recogniser(model, max_streams=1, end_pad_s=0)
    refs = [text for _, text in theo]
    with_pad = wer_cer(refs, [padded.transcribe(x).text for x, _ in theo])
    without = wer_cer(refs, [bare.transcribe(x).text for x, _ in theo])
    assert with_pad[0] < without[0], (with_pad, without)


def test_finals_stop_at_the_end_of_the_audio_and_streams_match_files(theo):
    rec = Recogniser(load_model("wavenet-cpu"), max_streams=1)
    ends_at_audio_end = 0
    for x, _ in theo[::25]:
        end_s = len(x) / rec.sample_rate
        offline = rec.transcribe(x)
        with rec.open_stream() as s:
            for i in range(0, len(x), 2560):
                s.accept(x[i:i + 2560])
            streamed = s.finish()
        assert streamed.text == offline.text
        assert [t for w in streamed.words for t in (w.start_s, w.end_s)] == pytest.approx(
            [t for w in offline.words for t in (w.start_s, w.end_s)])
        for hyp in (offline, streamed):
            assert hyp.end_time_s == pytest.approx(end_s)
            assert all(0 <= w.start_s <= w.end_s <= end_s for w in hyp.words)
        ends_at_audio_end += bool(offline.words) and offline.words[-1].end_s == pytest.approx(end_s)
    assert ends_at_audio_end  # some last word was heard only in the pad, and its time was cut back


def test_a_negative_end_pad_is_refused():
    with pytest.raises(ValueError, match="end_pad_s"):
        Recogniser(load_model("logmel-cnn-cpu"), end_pad_s=-0.1)
