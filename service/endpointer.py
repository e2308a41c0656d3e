"""When an utterance ends: silence measured as CTC frames with no new character."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class EndpointRules:
    disabled: bool = False
    silence_without_text_s: float = 2.4   # no text yet: drop the silence, start afresh
    silence_after_text_s: float = 1.2     # text, then this much silence: final
    max_utterance_s: float = 20.0         # a final at the latest after this long

    def decide(self, has_text: bool, silence_s: float, utterance_s: float) -> str:
        """'final', 'reset' (silence only: nothing to report) or 'continue'."""
        if self.disabled:
            return "continue"
        if has_text and (silence_s >= self.silence_after_text_s or utterance_s >= self.max_utterance_s):
            return "final"
        if not has_text and silence_s >= self.silence_without_text_s:
            return "reset"
        return "continue"
