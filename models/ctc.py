"""CTC over characters: the vocabulary, incremental greedy decoding with word times, and the
probability of given texts (the sum over all their alignments)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch
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


@dataclass(frozen=True)
class CtcTexts:
    """Texts laid out as the cells of the CTC forward pass (blank, letter, blank, ..., letter, blank),
    built once and scored against any number of readings of the audio (`log_likelihoods`)."""

    targets: Tensor        # the texts' outputs one after another
    lengths: Tensor        # each text's length
    cell_out: Tensor       # [texts, cells]: each cell's output; -1 past a text's end (never emitted)
    may_skip: Tensor       # [texts, cells] float64: a letter reachable from two cells back (the blank between differs)
    fewest_frames: Tensor  # [texts]: one a letter, and one more between two of the same

    @classmethod
    def of(cls, targets: Tensor, lengths: Tensor) -> "CtcTexts":
        n = len(lengths)
        cells = 2 * int(lengths.max()) + 1 if n else 1
        cell_out = torch.full((n, cells), -1, dtype=torch.long)
        may_skip = torch.zeros(n, cells, dtype=torch.float64)
        fewest_frames = lengths.clone()
        ends = _ends(lengths)
        for i, (a, b) in enumerate(zip(ends, ends[1:])):
            text = targets[a:b]
            cell_out[i, :2 * len(text) + 1:2] = BLANK
            cell_out[i, 1:2 * len(text):2] = text
            differs = text[1:] != text[:-1]
            may_skip[i, 3:2 * len(text):2] = differs.double()
            fewest_frames[i] += int((~differs).sum())
        return cls(targets, lengths, cell_out, may_skip, fewest_frames)

    def log_likelihoods(self, log_probs: Tensor) -> Tensor:
        """log_probs [T, outputs] of one utterance -> [texts] float64: each text's CTC log-probability,
        the sum over all its alignments (-inf where the frames are too few for it).

        The forward algorithm over all the texts at once, frame by frame in probabilities rather than
        logs (float64; each frame's divided by its likeliest output's), each text's cells rescaled to
        sum to 1 after every frame and the scales' logs summed: `torch.nn.functional.ctc_loss`'s values
        in float64, several times as fast on one CPU thread for long texts, holding one frame's cells
        rather than the whole lattice (24 texts of a 120 s final: a few MB, where the lattice takes a
        gigabyte). A cell more than float64's range (about e^-700) below its text's likeliest is dropped:
        negligible for any text the audio could say (a far-fetched one may come out lower than it is); a
        text that comes out impossible though its frames suffice is scored by `ctc_loss` itself, in logs."""
        frames, outputs = log_probs.shape
        n, cells = self.cell_out.shape
        if n == 0:
            return torch.zeros(0, dtype=torch.float64)
        log_probs = log_probs.double()
        frame_max = log_probs.max(1).values
        # past a text's end: column `outputs`, an output of probability 0
        probs = torch.cat([(log_probs - frame_max[:, None]).exp(), torch.zeros(frames, 1, dtype=torch.float64)], 1)
        flat = torch.where(self.cell_out < 0, outputs, self.cell_out).view(-1)
        padded = torch.zeros(n, cells + 2, dtype=torch.float64)  # two cells of zeros before each text's first: what
        alpha = padded[:, 2:]                                    # its moves read
        alpha[:, :2] = probs[0].index_select(0, flat).view(n, cells)[:, :2]
        log_scale = torch.full((n,), float(frame_max.sum()), dtype=torch.float64)
        for t in range(frames):
            if t:
                moved = alpha + padded[:, 1:-1]  # stay, or come from the cell before
                moved.addcmul_(padded[:, :-2], self.may_skip)  # or skip the blank between two letters
                alpha.copy_(moved.mul_(probs[t].index_select(0, flat).view(n, cells)))
            total = alpha.sum(1)
            alive = total > 0
            alpha.div_(torch.where(alive, total, torch.ones_like(total))[:, None])
            log_scale += torch.where(alive, total.log(), torch.full((n,), float("-inf"), dtype=torch.float64))
        last = 2 * self.lengths  # a text ends in its last blank or its last letter
        rows = torch.arange(n)
        end = alpha[rows, last] + torch.where(last > 0, alpha[rows, (last - 1).clamp(min=0)],
                                              torch.zeros(n, dtype=torch.float64))
        scores = log_scale + end.log()
        underflowed = torch.isinf(scores) & (self.fewest_frames <= frames)  # impossible, yet its frames suffice
        ends = _ends(self.lengths)
        for i in underflowed.nonzero().flatten().tolist():
            scores[i] = -torch.nn.functional.ctc_loss(log_probs[:, None], self.targets[ends[i]:ends[i + 1]][None],
                                                      torch.tensor([frames]), self.lengths[i:i + 1], blank=BLANK,
                                                      reduction="sum")
        return scores


def _ends(lengths: Tensor) -> list[int]:
    """Where each text starts in the texts' outputs one after another, and where the last ends."""
    return [0, *lengths.cumsum(0).tolist()]
