"""Finals from both shipped models' readings mixed (models.blend): the causal model's frames moved
earlier so its letters line up with the offline model's, and the mix what files and streams' second
passes are decoded from."""

import dataclasses

import pytest
import torch

from models.audio import read_audio
from models.beam import BeamDecoder, Constraint
from models.blend import Blend, blend_log_probs, matched_delay
from models.decoding_defaults import BLEND_DELAY_FRAMES, BLEND_RESCORE, BLEND_WEIGHT
from models.engine import Recogniser
from models.recogniser import SpeechRecogniser
from models.registry import SHIPPED_LM, load_model
from tests.conftest import lj_sentence

RATE = 16000


@pytest.fixture(scope="module")
def shipped():
    streaming, offline = load_model("wavenet-cpu"), load_model("logmel-cnn-cpu")
    beam = BeamDecoder.for_model(offline.cfg, SHIPPED_LM)
    return streaming, offline, beam


@pytest.fixture(scope="module")
def sentence(shared_data, shipped):
    """A real reader's sentence whose three finals differ: the offline model's alone, the mix's search, and the mix
    scored again (else the tests below could not tell them apart)."""
    streaming, offline, beam = shipped
    finals = [Recogniser(offline, beam=beam), Recogniser(offline, beam=beam, blend=Blend(streaming, rescore=0)),
              Recogniser(offline, beam=beam, blend=Blend(streaming))]
    return lj_sentence(shared_data, lambda audio: len({r.transcribe(audio).text for r in finals}) == 3,
                       "three ways (the offline model alone, the mix's search, the mix scored again)")[1]


def test_a_reading_emitted_later_lines_up_once_moved_earlier():
    torch.manual_seed(0)
    own = torch.randn(50, 29) * 4
    later = torch.cat([own[-1:].expand(3, -1), own[:-3]])  # the same reading, three frames later
    mixed = blend_log_probs(own, later, 0.5, 3)
    assert torch.allclose(mixed[:47], own.log_softmax(-1)[:47])
    # without the delay the two disagree frame by frame, and the mix is no longer the reading
    assert not torch.allclose(blend_log_probs(own, later, 0.5, 0)[:47], own.log_softmax(-1)[:47])
    assert torch.allclose(blend_log_probs(own, later, 0.0, 3), own.log_softmax(-1))


def test_a_delay_matched_per_recording_is_where_the_two_readings_letters_overlap_most():
    torch.manual_seed(0)
    own = torch.randn(50, 29) * 4
    for delay in (0, 2, 5):
        later = torch.cat([own[-1:].expand(delay, -1), own[:50 - delay]])  # the same reading, `delay` frames later
        assert matched_delay(own, later) == delay
        assert torch.equal(blend_log_probs(own, later, 0.5, None), blend_log_probs(own, later, 0.5, delay))
    assert matched_delay(own, torch.cat([own[-1:].expand(7, -1), own[:43]]), max_frames=4) <= 4
    assert matched_delay(own[:1], own[:1]) == 0  # one frame: nothing to move


def test_blend_settings_out_of_range_are_refused(shipped):
    streaming = shipped[0]
    with pytest.raises(ValueError, match="between 0 and 1"):
        Blend(streaming, 1.5)
    with pytest.raises(ValueError, match="0 or more frames"):
        Blend(streaming, 0.25, -1)
    with pytest.raises(ValueError, match="0 \\(off\\) or more texts"):
        Blend(streaming, 0.25, None, -1)
    with pytest.raises(ValueError, match="0 \\(the mix's beam\\) or more hypotheses"):
        Blend(streaming, 0.25, None, 8, -1)


def test_models_whose_frames_do_not_line_up_cannot_be_blended(shipped):
    streaming, offline, _ = shipped
    coarser = SpeechRecogniser(dataclasses.replace(streaming.cfg, subsample_layers=3))  # 80 ms frames
    with pytest.raises(ValueError, match="cannot blend"):
        Recogniser(offline, blend=Blend(coarser))


def test_a_blended_final_is_the_search_over_both_models_readings_mixed(shipped, sentence, shared_data):
    streaming, offline, beam = shipped
    blended = Recogniser(offline, beam=beam, blend=Blend(streaming, rescore=0))  # the mix's search decides
    alone, causal = Recogniser(offline, beam=beam), Recogniser(streaming, max_streams=1, beam=beam)
    audio = sentence
    mixed = blend_log_probs(alone.final_logits(audio), causal.final_logits(audio), BLEND_WEIGHT,
                            BLEND_DELAY_FRAMES)
    assert blended.transcribe(audio).text == beam.decode(mixed).text
    assert blended.transcribe(audio).text != alone.transcribe(audio).text  # the blend changes this reading
    # constraints hold in the mix too
    digit = read_audio(shared_data / "real" / "fsdd" / "theo" / "7_theo_3.wav", RATE)[0]
    assert blended.transcribe(digit, constraint=Constraint.parse(vocabulary_set="digits")).text == "seven"


def test_a_streams_second_pass_is_blended_and_its_partials_are_not(shipped, sentence):
    streaming, offline, beam = shipped
    blended = Recogniser(offline, beam=beam, blend=Blend(streaming))
    rec = Recogniser(streaming, max_streams=2, beam=beam, second_pass=blended)
    plain = Recogniser(streaming, max_streams=2, beam=beam, second_pass=Recogniser(offline, beam=beam))
    audio = sentence
    finals, partials = [], []
    for r in (rec, plain):
        s = r.open_stream()
        partials.append([s.accept(audio[i:i + 2560]).text for i in range(0, len(audio), 2560)])
        finals.append(s.finish().text)
    assert finals[0] == blended.transcribe(audio).text != finals[1]
    assert partials[0] == partials[1]


def spoken(sure: dict[int, int], unsure: dict[int, int] | None = None, frames: int = 40, vocab: int = 29):
    """Logits [frames, vocab] of a model that reads one output a frame: at the frames of `sure` {frame:
    output} that output, at those of `unsure` that output or the blank (even odds), the blank elsewhere."""
    logits = torch.full((frames, vocab), -8.0)
    logits[:, 0] = 8.0
    for t, out in sure.items():
        logits[t, 0], logits[t, out] = -8.0, 8.0
    for t, out in (unsure or {}).items():
        logits[t, 0], logits[t, out] = 8.0, 8.0
    return logits


def test_a_rescored_final_is_the_text_both_readings_find_likely_whatever_their_timing():
    # The offline model is sure of "two" at frames 5-7 and unsure whether a second "two" follows
    # (a separator at 8, the word at 17-19); the streaming one is sure of one "two", 12 frames later
    # (more than a matched delay may move it). Frame by frame, the mix hears the word twice. Scored over
    # all of a text's alignments, "two" is as likely as "two two" in the offline reading and far likelier
    # in the streaming one.
    from models.ctc import Vocabulary
    vocab = Vocabulary(load_model("wavenet-cpu").cfg.vocab)
    beam = BeamDecoder(vocab, 0.04)
    t, w, o, sep = vocab.encode("two ")
    own = spoken({5: t, 6: w, 7: o}, {8: sep, 17: t, 18: w, 19: o})
    later = spoken({17: t, 18: w, 19: o})
    mixed = blend_log_probs(own, later, 0.35, None)
    digits = Constraint.parse(vocabulary_set="digits")
    assert beam.decode(mixed, digits).text == "two two"
    rescored = beam.decode_rescored([own, later], [0.65, 0.35], mixed, digits, alternatives=2)
    assert rescored.text == "two"
    assert rescored.alternatives[0].text == "two two"  # the mix's reading, now the runner-up
    # a phrase list is scored the same way: each reading's probability of each phrase
    phrases = Constraint.parse(phrases=["two", "two two", "three"])
    assert beam.decode(mixed, phrases).text == "two two"
    assert beam.decode_rescored([own, later], [0.65, 0.35], mixed, phrases).text == "two"


def test_finals_are_rescored_by_default_and_a_blend_can_turn_it_off(shipped, sentence):
    streaming, offline, beam = shipped
    rescored = Recogniser(offline, beam=beam, blend=Blend(streaming))
    mix_only = Recogniser(offline, beam=beam, blend=Blend(streaming, rescore=0))
    readings = rescored.final_readings(sentence)
    mixed = blend_log_probs(*readings, BLEND_WEIGHT, BLEND_DELAY_FRAMES)
    assert rescored.transcribe(sentence).text == beam.decode_rescored(
        readings, [1 - BLEND_WEIGHT, BLEND_WEIGHT], mixed, candidates=BLEND_RESCORE).text
    assert mix_only.transcribe(sentence).text == beam.decode(mixed).text
    # this sentence is one the two read otherwise (else the test would not tell them apart)
    assert rescored.transcribe(sentence).text != mix_only.transcribe(sentence).text


def test_the_mixs_search_keeps_the_decoders_beam_and_each_models_own_the_rescore_beam(shipped, sentence, monkeypatch):
    streaming, offline, beam = shipped
    kept = []
    search = beam._search.search

    def spied(log_probs, vocabulary, opts, n=1):
        kept.append(opts.beam_size)
        return search(log_probs, vocabulary, opts, n)

    monkeypatch.setattr(beam._search, "search", spied)
    Recogniser(offline, beam=beam, blend=Blend(streaming, rescore_beam=16)).transcribe(sentence)
    assert kept == [beam.cfg.beam_size, 16, 16]  # the mix's search, then each model's own
    kept.clear()
    Recogniser(offline, beam=beam, blend=Blend(streaming, rescore_beam=0)).transcribe(sentence)
    assert kept == [beam.cfg.beam_size] * 3
