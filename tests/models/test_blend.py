"""Finals from both shipped models' readings mixed (models.blend): the causal model's frames moved
earlier so its letters line up with the offline model's, and the mix what files and streams' second
passes are decoded from."""

import dataclasses

import pytest
import torch

from models.audio import read_audio
from models.beam import BeamDecoder, Constraint
from models.blend import Blend, blend_log_probs, matched_delay
from models.decoding_defaults import BLEND_DELAY_FRAMES, BLEND_WEIGHT
from models.engine import Recogniser
from models.recogniser import SpeechRecogniser
from models.registry import SHIPPED_LM, load_model

RATE = 16000


@pytest.fixture(scope="module")
def sentence(shared_data):
    """A real reader's sentence that the blend reads otherwise than the offline model alone."""
    return read_audio(shared_data / "real" / "lj-amateur" / "LJ001-0049.flac", RATE)[0]


@pytest.fixture(scope="module")
def shipped():
    streaming, offline = load_model("wavenet-cpu"), load_model("logmel-cnn-cpu")
    beam = BeamDecoder.for_model(offline.cfg, SHIPPED_LM)
    return streaming, offline, beam


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


def test_models_whose_frames_do_not_line_up_cannot_be_blended(shipped):
    streaming, offline, _ = shipped
    coarser = SpeechRecogniser(dataclasses.replace(streaming.cfg, subsample_layers=3))  # 80 ms frames
    with pytest.raises(ValueError, match="cannot blend"):
        Recogniser(offline, blend=Blend(coarser))


def test_a_blended_final_is_the_search_over_both_models_readings_mixed(shipped, sentence, shared_data):
    streaming, offline, beam = shipped
    blended = Recogniser(offline, beam=beam, blend=Blend(streaming))
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
