"""CTC over characters: the vocabulary and incremental greedy decoding with word times."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from torch import Tensor

BLANK = 0


@dataclass
class Word:
    word: str
    start_s: float
    end_s: float
    confidence: float


@dataclass
class Hypothesis:
    text: str
    words: list[Word]
    confidence: float
    is_final: bool
    end_time_s: float     # audio time covered by the frames decoded so far
    # A beam-searched final's runners-up, best first (distinct texts); greedy decoding has none.
    alternatives: list["Hypothesis"] = field(default_factory=list)

    def clipped(self, end_s: float) -> "Hypothesis":
        """No time past `end_s`: the audio's end, where decoding went on into padding after it."""
        words = [replace(w, start_s=min(w.start_s, end_s), end_s=min(w.end_s, end_s)) for w in self.words]
        return replace(self, words=words, end_time_s=min(self.end_time_s, end_s),
                       alternatives=[a.clipped(end_s) for a in self.alternatives])


class Vocabulary:
    def __init__(self, chars: str):
        self.chars = chars
        self.index = {c: i + 1 for i, c in enumerate(chars)}

    def __len__(self) -> int:
        return len(self.chars) + 1

    def encode(self, text: str) -> list[int]:
        unknown = sorted({c for c in text if c not in self.index})
        if unknown:
            raise ValueError(f"characters outside the vocabulary: {unknown!r}")
        return [self.index[c] for c in text]

    def char(self, token: int) -> str:
        return self.chars[token - 1]


@dataclass
class GreedyDecoder:
    """Greedy CTC for one stream, fed frame by frame as they come; keeps O(text) state.

    Each emitted character remembers the frames it spans and its probability, so
    words get start/end times and a confidence (mean character probability).
    """

    vocab: Vocabulary
    frame_s: float
    prev: int = BLANK
    frames: int = 0
    # Per emitted character: [char, first_frame, last_frame, prob]
    chars: list[list] = field(default_factory=list)
    letters: int = 0  # emitted characters other than spaces: the text is non-empty iff > 0

    def accept(self, logits: Tensor) -> None:
        """logits [T, vocab] for the next T frames of this stream."""
        if logits.shape[0] == 0:
            return
        probs = logits.float().softmax(-1)
        best_p, best = probs.max(-1)
        for t, (tok, p) in enumerate(zip(best.tolist(), best_p.tolist())):
            frame = self.frames + t
            if tok != BLANK and tok == self.prev and self.chars:
                c = self.chars[-1]
                c[2] = frame
                c[3] = max(c[3], p)
            elif tok != BLANK:
                char = self.vocab.char(tok)
                self.chars.append([char, frame, frame, p])
                self.letters += char != " "
            self.prev = tok
        self.frames += logits.shape[0]

    def hypothesis(self, is_final: bool, time_offset_s: float = 0.0) -> Hypothesis:
        words: list[Word] = []
        current: list[list] = []

        def close():
            if current:
                text = "".join(c[0] for c in current)
                conf = sum(c[3] for c in current) / len(current)
                words.append(Word(text, time_offset_s + current[0][1] * self.frame_s,
                                  time_offset_s + (current[-1][2] + 1) * self.frame_s, conf))
                current.clear()

        for c in self.chars:
            if c[0] == " ":
                close()
            else:
                current.append(c)
        close()
        text = " ".join(w.word for w in words)
        conf = sum(w.confidence for w in words) / len(words) if words else 0.0
        return Hypothesis(text, words, conf, is_final, time_offset_s + self.frames * self.frame_s)

    def trailing_blank_frames(self) -> int:
        """Frames since the last emitted character (the endpointer's silence measure)."""
        return self.frames - (self.chars[-1][2] + 1) if self.chars else self.frames


def greedy_transcript(logits: Tensor, vocab: Vocabulary, frame_s: float) -> Hypothesis:
    dec = GreedyDecoder(vocab, frame_s)
    dec.accept(logits)
    return dec.hypothesis(is_final=True)
