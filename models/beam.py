"""CTC beam search for finals: a lexicon, a word n-gram language model, per-request constraints.

Partials stay greedy (`ctc.GreedyDecoder`, cheap on every chunk). When an utterance ends, its
frames are decoded again here:

- open vocabulary and `Constraint(vocabulary=...)`: a lexicon search (`lexicon_search`) over the
  LM's words or only the given ones, in this process or, with `workers`, in worker processes
  (`search_pool`: the search holds the GIL, so threads would take turns);
- `Constraint(phrases=...)`: the final is the one phrase the audio most likely says (each
  phrase's exact CTC probability, computed for all of them; no beam search needed).

With two models' readings of the audio (`decode_rescored`), the texts the searches find over each
reading and over their frame-by-frame mix are scored again by each model's exact CTC probability
of the text (the sum over all its alignments, so no frame of one model need line up with the
other's) and the language model, and the best of them is the final.
"""

from __future__ import annotations

import copy
import functools
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import torch
import torchaudio.functional as AF
from torch import Tensor

from .ctc import BLANK, CtcTexts, Hypothesis, Vocabulary, Word
from .decoding_defaults import BEAM_SIZE, BEAM_THRESHOLD, LM_WEIGHT, RESCORE_LM_WEIGHT, RESCORE_WORD_SCORE, WORD_SCORE
from .lexicon_search import LexiconSearch, Reading, SearchOptions
from .search_pool import SearchPool

NAMED_VOCABULARIES = {
    "digits": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "oh"),
}
MAX_CONSTRAINT_WORDS = 5000
MAX_PHRASES = 2000
_WORD = re.compile(r"^[a-z']+$")


@dataclass(frozen=True)
class Constraint:
    """What a final may say: words from `vocabulary`, or the `phrases`. Empty: open vocabulary."""

    vocabulary: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()

    @classmethod
    def parse(cls, vocabulary=(), phrases=(), vocabulary_set: str = "") -> "Constraint":
        """From a request; raises ValueError with a message for the caller."""
        words = [w.strip().lower() for w in vocabulary if w.strip()]
        if vocabulary_set:
            if vocabulary_set not in NAMED_VOCABULARIES:
                raise ValueError(f"unknown vocabulary set {vocabulary_set!r}; known: {sorted(NAMED_VOCABULARIES)}")
            words += NAMED_VOCABULARIES[vocabulary_set]
        lines = [" ".join(p.lower().split()) for p in phrases if p.strip()]
        if words and lines:
            raise ValueError("give a vocabulary or phrases, not both")
        if len(words) > MAX_CONSTRAINT_WORDS:
            raise ValueError(f"a vocabulary may hold at most {MAX_CONSTRAINT_WORDS} words, got {len(words)}")
        if len(lines) > MAX_PHRASES:
            raise ValueError(f"at most {MAX_PHRASES} phrases, got {len(lines)}")
        bad = sorted({w for w in words + [w for p in lines for w in p.split()] if not _WORD.match(w)})
        if bad:
            raise ValueError(f"words may hold only the letters a-z and apostrophes (spell numbers out): {bad[:5]}")
        return cls(tuple(sorted(set(words))), tuple(sorted(set(lines))))

    def __bool__(self) -> bool:
        return bool(self.vocabulary or self.phrases)


def check_beam_threshold(threshold: float, name: str = "beam threshold") -> None:
    """How far below the best a hypothesis may fall and stay: above 0 (`name`: what the caller calls it)."""
    if not threshold > 0:
        raise ValueError(f"{name} must be above 0, got {threshold:g}")


@dataclass
class BeamConfig:
    beam_size: int = BEAM_SIZE
    beam_threshold: float = BEAM_THRESHOLD
    lm_weight: float = LM_WEIGHT
    word_score: float = WORD_SCORE
    sil_score: float = 0.0
    # a rescored final's texts weigh the LM and the words so (None: as the searches do, the two above)
    rescore_lm_weight: float | None = RESCORE_LM_WEIGHT
    rescore_word_score: float | None = RESCORE_WORD_SCORE

    def __post_init__(self):
        check_beam_threshold(self.beam_threshold)


class BeamDecoder:
    """Finals for one model's outputs. workers=0: searches in the calling thread; workers=N: in N
    worker processes (`search_pool`), for a server whose finals come from many threads at once."""

    def __init__(self, vocab: Vocabulary, frame_s: float, lm_path: str | Path | None = None,
                 cfg: BeamConfig | None = None, cache_size: int = 32, workers: int = 0):
        self.vocab, self.frame_s, self.cfg = vocab, frame_s, cfg or BeamConfig()
        self.lm_path = Path(lm_path) if lm_path else None
        lm = str(self.lm_path) if self.lm_path else None
        self._search = (SearchPool(workers, vocab.chars, lm, self.cfg.lm_weight, self.cfg.word_score) if workers
                        else LexiconSearch(vocab.chars, lm, self.cfg.lm_weight, self.cfg.word_score, cache_size))
        self.concurrency = max(1, workers)  # searches that run side by side (one in the calling thread)
        # a rescored final's searches (over the mix and over each reading) handed to the workers together
        self._side_by_side = ThreadPoolExecutor(max(3, workers), thread_name_prefix="proposals") if workers else None
        self.sil = vocab.index[" "]  # the word separator's output
        # a phrase list's CTC cells, built on its first use and kept for the next requests
        self._phrase_texts = functools.lru_cache(cache_size)(self._encode_phrases)

    @classmethod
    def for_model(cls, model_cfg, lm_path: str | Path | None = None, cfg: BeamConfig | None = None,
                  workers: int = 0) -> "BeamDecoder":
        """The decoder for a model's outputs (its vocabulary and frame rate)."""
        return cls(Vocabulary(model_cfg.vocab), model_cfg.frame_ms / 1000, lm_path, cfg, workers=workers)

    def reweighted(self, lm_weight: float, word_score: float) -> "BeamDecoder":
        """The same decoder with other open-vocabulary weights, for tuning them: it shares this
        one's lexicon, LM and constraint cache, so nothing is read or built again (in-process only)."""
        if not isinstance(self._search, LexiconSearch):
            raise RuntimeError("reweighting needs the search in this process (workers=0)")
        other = copy.copy(self)
        other._search = self._search.reweighted(lm_weight, word_score)
        other.cfg = replace(self.cfg, lm_weight=lm_weight, word_score=word_score)
        return other

    def widened(self, beam_size: int) -> "BeamDecoder":
        """The same decoder keeping another number of hypotheses (sharing all it has built)."""
        other = copy.copy(self)
        other.cfg = replace(self.cfg, beam_size=beam_size)
        return other

    def worker_pids(self) -> list[int]:
        """The search worker processes' ids (none: searches run in the calling thread)."""
        return self._search.worker_pids()

    def close(self) -> None:
        """Stops the worker processes, if any (a decoder with workers is unusable after)."""
        self._search.close()
        if self._side_by_side is not None:
            self._side_by_side.shutdown()

    def _encode_phrases(self, c: Constraint) -> list[CtcTexts]:
        """The phrases as CTC cells, in groups of 256 (bounded memory for long lists)."""
        return [self._texts(c.phrases[i:i + 256]) for i in range(0, len(c.phrases), 256)]

    def _texts(self, texts) -> CtcTexts:
        encoded = [self.vocab.encode(t) for t in texts]
        return CtcTexts.of(torch.tensor([i for e in encoded for i in e], dtype=torch.long),
                           torch.tensor([len(e) for e in encoded], dtype=torch.long))

    @staticmethod
    def _scored(scores: Tensor, scored_by: list[tuple[Tensor, float]], groups: list[CtcTexts]) -> Tensor:
        """`scores` plus, for each reading's log-probabilities in `scored_by`, its share times each text's
        CTC log-probability (the texts in `groups`, one after another)."""
        for log_probs, share in scored_by:
            if share:
                scores = scores + share * torch.cat([g.log_likelihoods(log_probs) for g in groups])
        return scores

    def available(self, constraint: Constraint | None) -> bool:
        """Whether finals under this constraint get a beam search (an LM, or a constraint)."""
        return bool(constraint) or self._search.has_lm

    # ----- decoding ------------------------------------------------------------------
    def decode(self, logits: Tensor, constraint: Constraint | None = None,
               time_offset_s: float = 0.0, alternatives: int = 1) -> Hypothesis:
        """logits [T, vocab] of one utterance -> its final hypothesis with word times, and up to
        `alternatives` - 1 runners-up (distinct texts, best first) in its `alternatives`."""
        if constraint and constraint.phrases:
            return self._best_phrases(logits, constraint, time_offset_s, alternatives)
        readings = self._searched(logits.float().log_softmax(-1), constraint, max(1, alternatives))
        return self._ranked(readings, time_offset_s, time_offset_s + logits.shape[0] * self.frame_s)

    def decode_rescored(self, readings: list[Tensor], shares: list[float], mixed: Tensor,
                        constraint: Constraint | None = None, time_offset_s: float = 0.0, alternatives: int = 1,
                        candidates: int = 8, reading_beam: int = 0) -> Hypothesis:
        """Several models' logits [T, vocab] of one utterance (`readings`, their `shares` summing to
        1) and their frame-by-frame mix -> the final: up to `candidates` texts from a search over
        each of `mixed` and the readings, each scored as the shares' weighted sum of the readings'
        CTC log-probabilities of it, plus the search's language score; best first, with up to
        `alternatives` - 1 runners-up. The readings' own searches keep `reading_beam` hypotheses (0: as
        many as the mix's). Word times and confidences are those the mix's search found, else the
        first reading's that found the text."""
        if constraint and constraint.phrases:
            return self._best_phrases(mixed, constraint, time_offset_s, alternatives, list(zip(readings, shares)))
        log_probs = [x.float().log_softmax(-1) for x in (mixed, *readings)]
        n = max(1, candidates, alternatives)

        beams = [self.cfg.beam_size] + [reading_beam or self.cfg.beam_size] * len(readings)

        def proposed(x: Tensor, beam_size: int) -> list[Reading]:
            return self._searched(x, constraint, n, beam_size)

        # with worker processes, the searches run side by side: a final waits for the slowest, not the sum
        lists = (list(self._side_by_side.map(proposed, log_probs, beams)) if self._side_by_side
                 else map(proposed, log_probs, beams))
        found: dict[str, Reading] = {}
        for proposals in lists:  # the mix's first: a text it found keeps its word times
            for r in proposals:
                found.setdefault(r.text, r)
        texts = list(found)
        scores = torch.tensor([self._rescored_language(found[t], constraint) for t in texts], dtype=torch.float64)
        if texts:
            scores = self._scored(scores, list(zip(log_probs[1:], shares)), [self._texts(texts)])
        order = scores.argsort(descending=True)[:max(1, alternatives)].tolist()
        return self._ranked([found[texts[i]] for i in order], time_offset_s,
                            time_offset_s + mixed.shape[0] * self.frame_s)

    def _rescored_language(self, r: Reading, constraint: Constraint | None) -> float:
        """A proposal's language score as the rescoring weighs it: the search's (LM weight times the LM's
        log-probability, plus the word score per word) with the LM and the words weighed again. A constrained
        vocabulary's texts have none (no LM; every word equally likely)."""
        cfg = self.cfg
        lm_weight = cfg.lm_weight if cfg.rescore_lm_weight is None else cfg.rescore_lm_weight
        word_score = cfg.word_score if cfg.rescore_word_score is None else cfg.rescore_word_score
        if constraint:
            return r.language_score
        # only the LM's and the words' parts are weighed again: the rest (silences) stays as the search scored it
        n = len(r.words)
        return r.language_score + (lm_weight - cfg.lm_weight) * r.lm_score + (word_score - cfg.word_score) * n

    def _searched(self, log_probs: Tensor, constraint: Constraint | None, n: int,
                  beam_size: int = 0) -> list[Reading]:
        """Up to n distinct texts the lexicon search finds in log_probs [T, vocab], best first, keeping
        beam_size hypotheses (0: the config's)."""
        if not self.available(constraint):
            raise RuntimeError("no language model loaded and no constraint given")
        opts = SearchOptions(beam_size or self.cfg.beam_size, self.cfg.beam_threshold, self.cfg.sil_score)
        return self._search.search(log_probs.numpy(), constraint.vocabulary if constraint else (), opts, n)

    def _ranked(self, readings: list[Reading], offset: float, end_s: float) -> Hypothesis:
        """The first reading as the final, the rest its alternatives (none: an empty final)."""
        if not readings:
            return Hypothesis("", [], 0.0, True, end_s)
        best, *rest = [self._hypothesis(r, offset, end_s) for r in readings]
        best.alternatives = rest
        return best

    def _hypothesis(self, r: Reading, offset: float, end_s: float) -> Hypothesis:
        words = [Word(w, offset + first * self.frame_s, offset + end * self.frame_s, conf)
                 for w, first, end, conf in r.words]
        conf = sum(w.confidence for w in words) / len(words) if words else 0.0
        return Hypothesis(r.text, words, conf, True, end_s)

    def _best_phrases(self, logits: Tensor, constraint: Constraint, offset: float, n: int,
                      scored_by: list[tuple[Tensor, float]] | None = None) -> Hypothesis:
        """The phrases the audio most likely says: each phrase's exact CTC probability (the sum over
        all its alignments; with `scored_by`, several readings' log-probabilities weighted by their
        shares), best first; word times from its forced alignment in `logits`; confidence is its
        share of the probability of all the phrases."""
        phrases = constraint.phrases
        end_s = offset + logits.shape[0] * self.frame_s
        log_probs = logits.float().log_softmax(-1)
        readings = [(log_probs, 1.0)] if scored_by is None else [(r.float().log_softmax(-1), s) for r, s in scored_by]
        scores = self._scored(torch.zeros(len(phrases), dtype=torch.float64), readings, self._phrase_texts(constraint))
        shares = scores.softmax(0)
        top = [int(i) for i in scores.topk(min(max(1, n), len(phrases))).indices if torch.isfinite(scores[i])]
        if not top:  # too little audio for any phrase
            return Hypothesis("", [], 0.0, True, end_s)
        best, *rest = [self._aligned(log_probs, phrases[i], float(shares[i]), offset, end_s) for i in top]
        best.alternatives = rest
        return best

    def _aligned(self, log_probs: Tensor, phrase: str, share: float, offset: float, end_s: float) -> Hypothesis:
        """A phrase with word times from its forced alignment."""
        target = torch.tensor([self.vocab.encode(phrase)])
        path, _ = AF.forced_align(log_probs[None], target, blank=BLANK)
        path = path[0].tolist()
        words, first, last = [], None, None
        for t, tok in enumerate(path + [self.sil]):  # a closing separator ends the last word
            if tok == self.sil and first is not None:
                words.append(Word("", offset + first * self.frame_s, offset + (last + 1) * self.frame_s, share))
                first = None
            elif tok not in (BLANK, self.sil):
                first = t if first is None else first
                last = t
        for w, text in zip(words, phrase.split()):
            w.word = text
        return Hypothesis(phrase, words, share, True, end_s)
