"""The endpointing rules (the server-level tests exercise max_utterance; random weights
emit characters everywhere, so silence is checked here on the rules themselves), and the quiet
meter on synthesised audio."""

import numpy as np

from service.endpointer import EndpointRules, QuietMeter


def test_defaults_are_the_documented_ones():
    r = EndpointRules()
    assert (r.silence_without_text_s, r.silence_after_text_s, r.max_utterance_s) == (2.4, 1.2, 20.0)
    assert r.quiet_after_text_s == 1.0


def test_text_then_silence_ends_the_utterance():
    r = EndpointRules()
    assert r.decide(has_text=True, silence_s=1.19, utterance_s=5) == "continue"
    assert r.decide(has_text=True, silence_s=1.2, utterance_s=5) == "final"


def test_silence_without_text_is_dropped_not_reported():
    r = EndpointRules()
    assert r.decide(has_text=False, silence_s=2.3, utterance_s=2.3) == "continue"
    assert r.decide(has_text=False, silence_s=2.4, utterance_s=2.4) == "reset"


def test_long_utterances_are_cut_and_disabled_never_ends():
    r = EndpointRules(max_utterance_s=3)
    assert r.decide(has_text=True, silence_s=0, utterance_s=3) == "final"
    off = EndpointRules(disabled=True)
    assert off.decide(has_text=True, silence_s=100, utterance_s=100) == "continue"


def test_quiet_audio_after_text_ends_the_utterance_once_the_letters_have_settled():
    r = EndpointRules(quiet_after_text_s=0.8)
    assert r.decide(has_text=True, silence_s=0.5, utterance_s=5, quiet_s=0.79) == "continue"
    assert r.decide(has_text=True, silence_s=0.5, utterance_s=5, quiet_s=0.8) == "final"
    # a letter still coming (the model's delay): not yet
    assert r.decide(has_text=True, silence_s=0.1, utterance_s=5, quiet_s=1.0) == "continue"
    assert r.decide(has_text=False, silence_s=0.5, utterance_s=5, quiet_s=5.0) == "continue"  # nothing said
    # off (0): quiet alone never ends one, silence still does
    off = EndpointRules(quiet_after_text_s=0)
    assert off.decide(has_text=True, silence_s=0.5, utterance_s=5, quiet_s=60) == "continue"
    assert off.decide(has_text=True, silence_s=1.2, utterance_s=5, quiet_s=0) == "final"


RATE = 16000


def speech_like(seconds: float, dbfs: float, seed: int = 0) -> np.ndarray:
    """Noise shaped as syllables (4 a second, each loud for its middle half) at about `dbfs` RMS where loud, with
    quieter stretches between them, as speech's level goes up and down."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * RATE)) / RATE
    envelope = np.where(np.sin(2 * np.pi * 4 * t) > 0, 1.0, 0.05)
    return (rng.standard_normal(len(t)) * envelope * 10 ** (dbfs / 20)).astype(np.float32)


def fed(meter: QuietMeter, audio: np.ndarray, block: int = 1600) -> list[float]:
    """quiet_s after each block, as a stream's chunks arrive."""
    out = []
    for i in range(0, len(audio), block):
        meter.accept(audio[i:i + block])
        out.append(meter.quiet_s())
    return out


def test_quiet_is_counted_from_speech_end_whatever_the_level_or_a_steady_floor():
    for level, floor in ((-20, None), (-45, None), (-20, -65), (-45, -70)):
        rng = np.random.default_rng(1)
        audio = np.concatenate([speech_like(2.875, level), np.zeros(RATE, np.float32)])  # ends on a syllable
        if floor is not None:  # a microphone's hiss under everything
            audio = audio + (rng.standard_normal(len(audio)) * 10 ** (floor / 20)).astype(np.float32)
        quiet = fed(QuietMeter(RATE), audio)
        # speech, once its first syllables have set a floor and a peak: never quiet for long (its gaps are 125 ms)
        assert max(quiet[5:30]) < 0.2, (level, floor)
        assert abs(quiet[-1] - 1.0) <= 0.06, (level, floor, quiet[-1])  # the second after it, all of it
    # a click does not make the speech after it quiet: the peak it set falls away
    audio = np.concatenate([np.full(80, 0.9, np.float32), speech_like(3.0, -45)])
    assert max(fed(QuietMeter(RATE), audio)[5:]) < 0.2


def test_noise_as_loud_as_the_floor_is_quiet_and_louder_noise_is_not():
    rng = np.random.default_rng(2)
    hiss = (rng.standard_normal(6 * RATE) * 10 ** (-60 / 20)).astype(np.float32)
    assert fed(QuietMeter(RATE), hiss)[-1] >= 5.5  # steady: quiet throughout, once the floor is known
    louder = fed(QuietMeter(RATE), np.concatenate([hiss, hiss * 10]))  # 20 dB up: something is there
    assert max(louder[60:105]) < 0.2
    # ... until it has been the quietest there is for the floor's 5 s: a new steady noise is the new floor
    assert louder[-1] >= 0.9
    # chunks of any size, down to a sample at a time, measure the same
    audio = np.concatenate([speech_like(0.88, -30), np.zeros(RATE // 2, np.float32)])
    assert fed(QuietMeter(RATE), audio, 1)[-1] == fed(QuietMeter(RATE), audio, 777)[-1] == 0.5
