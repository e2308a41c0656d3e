"""The endpointing rules (the server-level tests exercise max_utterance; random weights
emit characters everywhere, so silence is checked here on the rules themselves)."""

from service.endpointer import EndpointRules


def test_defaults_are_the_documented_ones():
    r = EndpointRules()
    assert (r.silence_without_text_s, r.silence_after_text_s, r.max_utterance_s) == (2.4, 1.2, 20.0)


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
