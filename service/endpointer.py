"""When an utterance ends: silence measured as CTC frames with no new character, or as quiet audio."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

# The rule on quiet audio also waits until the streaming model has gone this long without a new letter: the letters
# of a sentence's last word may come after the audio went quiet (the model's lookahead, and letters it places late),
# and one that came after the final would start the next utterance.
LETTERS_SETTLED_S = 0.25


@dataclass
class EndpointRules:
    disabled: bool = False
    silence_without_text_s: float = 2.4   # no text yet: drop the silence, start afresh
    silence_after_text_s: float = 1.2     # text, then this much silence: final
    max_utterance_s: float = 20.0         # a final at the latest after this long
    quiet_after_text_s: float = 1.0       # text, then this much quiet audio (QuietMeter): final; 0: off

    @property
    def hears_quiet(self) -> bool:
        """Whether `decide` reads `quiet_s` at all (the quiet rule on, endpointing on)."""
        return not self.disabled and self.quiet_after_text_s > 0

    def decide(self, has_text: bool, silence_s: float, utterance_s: float, quiet_s: float = 0.0) -> str:
        """'final', 'reset' (silence only: nothing to report) or 'continue'. `silence_s`: since the last letter;
        `quiet_s`: since the audio was last loud."""
        if self.disabled:
            return "continue"
        if has_text and (silence_s >= self.silence_after_text_s or utterance_s >= self.max_utterance_s):
            return "final"
        if (has_text and self.hears_quiet and quiet_s >= self.quiet_after_text_s
                and silence_s >= LETTERS_SETTLED_S):
            return "final"
        if not has_text and silence_s >= self.silence_without_text_s:
            return "reset"
        return "continue"


class QuietMeter:
    """How long a stream's audio has been quiet, measured on the audio as it arrives, so without the streaming
    model's delay (its lookahead and late letters: about 0.45 s at a sentence's end). A 10 ms frame is loud where
    its level is within `range_db` of the peak and `floor_margin_db` above the quietest frame of the last `floor_s`
    (a steady hiss stays quiet, and a new steady noise is the floor once it has lasted so long). The peak is the
    loudest level that lasted `PEAK_FRAMES` frames (a click is shorter, and would hold speech after it under the
    range), falling `peak_decay_db_s` a second. The first frames, with nothing to compare them to, are quiet."""

    FRAME_S = 0.01
    PEAK_FRAMES = 3

    def __init__(self, sample_rate: int, range_db: float = 35.0, floor_margin_db: float = 6.0,
                 peak_decay_db_s: float = 3.0, floor_s: float = 5.0):
        self.frame = round(sample_rate * self.FRAME_S)
        self.range_db, self.floor_margin_db = range_db, floor_margin_db
        self.peak_decay_db = peak_decay_db_s * self.FRAME_S  # a frame's fall
        self.floor_frames = max(1, round(floor_s / self.FRAME_S))
        self._lows: deque[tuple[int, float]] = deque()  # (frame, level), rising: the window's minimum in front
        self.frames = 0
        self.peak = -np.inf
        self._recent: deque[float] = deque(maxlen=self.PEAK_FRAMES)
        self.quiet_frames = 0
        self._rest = np.zeros(0, dtype=np.float32)

    def accept(self, samples: np.ndarray) -> None:
        """The stream's next samples (mono, at `sample_rate`)."""
        x = np.concatenate([self._rest, np.asarray(samples, dtype=np.float32)])
        n = len(x) // self.frame
        self._rest = x[n * self.frame:]
        frames = x[:n * self.frame].reshape(n, self.frame).astype(np.float64)
        for level in (10 * np.log10(np.mean(frames * frames, axis=1) + 1e-10)).tolist():
            self._recent.append(level)
            lasted = min(self._recent) if len(self._recent) == self.PEAK_FRAMES else -np.inf
            self.peak = max(lasted, self.peak - self.peak_decay_db)
            while self._lows and self._lows[0][0] <= self.frames - self.floor_frames:
                self._lows.popleft()
            floor = self._lows[0][1] if self._lows else level
            loud = level >= max(self.peak - self.range_db, floor + self.floor_margin_db)
            self.quiet_frames = 0 if loud else self.quiet_frames + 1
            while self._lows and self._lows[-1][1] >= level:
                self._lows.pop()
            self._lows.append((self.frames, level))
            self.frames += 1

    def quiet_s(self) -> float:
        return self.quiet_frames * self.FRAME_S
