"""CTC beam search for finals: a lexicon, a word n-gram language model, per-request constraints.

Partials stay greedy (`ctc.GreedyDecoder`, cheap on every chunk). When an utterance ends, its
frames are decoded again here with flashlight-text's lexicon decoder (what torchaudio's
`ctc_decoder` wraps), which only spells words of a lexicon and scores them with KenLM:

- open vocabulary: the lexicon is the LM's vocabulary (`models/weights/lm/*.arpa.gz`, built by
  `wavestream lm` from text that holds no evaluation sentence);
- `Constraint(vocabulary=...)`: only these words, all equally likely ("digits" is built in);
- `Constraint(phrases=...)`: the final is the one phrase the audio most likely says (each
  phrase's exact CTC probability, computed for all of them; no beam search needed).

Decoders for constraints are built on first use and cached; the trie and LM they hold are
read-only, and each decode gets its own search object, so threads can share them.
"""

from __future__ import annotations

import copy
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F
import torchaudio.functional as AF
from flashlight.lib.text.decoder import (CriterionType, LexiconDecoder, LexiconDecoderOptions, SmearingMode, Trie,
                                         ZeroLM)
from flashlight.lib.text.decoder.kenlm import KenLM
from flashlight.lib.text.dictionary import Dictionary, create_word_dict
from torch import Tensor

from . import lm as ngram
from .ctc import BLANK, Hypothesis, Vocabulary, Word
from .decoding_defaults import BEAM_SIZE, LM_WEIGHT, WORD_SCORE

NAMED_VOCABULARIES = {
    "digits": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "oh"),
}
MAX_CONSTRAINT_WORDS = 5000
MAX_PHRASES = 2000
_SIL, _BLANK, _UNK = "|", "-", "<unk>"
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


@dataclass
class BeamConfig:
    beam_size: int = BEAM_SIZE
    beam_threshold: float = 20.0
    lm_weight: float = LM_WEIGHT
    word_score: float = WORD_SCORE
    sil_score: float = 0.0


@dataclass
class _Searcher:
    """A lexicon trie and the LM that scores it: everything a search needs but its own state."""

    trie: Trie
    lm: object
    words: Dictionary
    word_score: float
    lm_weight: float


class BeamDecoder:
    def __init__(self, vocab: Vocabulary, frame_s: float, lm_path: str | Path | None = None,
                 cfg: BeamConfig | None = None, cache_size: int = 32):
        self.vocab, self.frame_s, self.cfg = vocab, frame_s, cfg or BeamConfig()
        self.lm_path = Path(lm_path) if lm_path else None
        # Token i is the model's output i: blank, then the characters, space as the word separator.
        self.tokens = Dictionary([_BLANK] + [_SIL if c == " " else c for c in vocab.chars])
        self.sil = self.tokens.get_index(_SIL)
        self._cache: OrderedDict[Constraint, _Searcher] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._open = self._build_open() if self.lm_path else None

    @classmethod
    def for_model(cls, model_cfg, lm_path: str | Path | None = None, cfg: BeamConfig | None = None) -> "BeamDecoder":
        """The decoder for a model's outputs (its vocabulary and frame rate)."""
        return cls(Vocabulary(model_cfg.vocab), model_cfg.frame_ms / 1000, lm_path, cfg)

    # ----- building ------------------------------------------------------------------
    def _spell(self, word: str) -> list[int] | None:
        """Letters then the separator: without it, the search reads a letter held over two
        frames as a double letter at the end of a word ("the" -> "thee")."""
        if not word or any(c not in self.vocab.index for c in word) or " " in word:
            return None
        return [self.tokens.get_index(c) for c in word] + [self.sil]

    def _searcher(self, words: list[str], lm, word_score: float, lm_weight: float) -> _Searcher:
        """The trie carries each word's LM score from the sentence start, smeared back over its
        letters so the search can prune words the LM dislikes before they end."""
        lexicon = {w: [[w]] for w in words if self._spell(w)}
        lexicon[_UNK] = [[_UNK]]
        word_dict = create_word_dict(lexicon)
        if isinstance(lm, (str, Path)):
            lm = KenLM(str(lm), word_dict)
        trie = Trie(self.tokens.index_size(), self.sil)
        start = lm.start(False)
        for w in lexicon:
            if w == _UNK:
                continue
            idx = word_dict.get_index(w)
            _, score = lm.score(start, idx)
            trie.insert(self._spell(w), idx, score)
        trie.smear(SmearingMode.MAX)
        return _Searcher(trie, lm, word_dict, word_score, lm_weight)

    def _build_open(self) -> _Searcher:
        return self._searcher(arpa_vocabulary(self.lm_path), self.lm_path, self.cfg.word_score, self.cfg.lm_weight)

    def reweighted(self, lm_weight: float, word_score: float) -> "BeamDecoder":
        """The same decoder with other open-vocabulary weights, for tuning them: it shares this
        one's lexicon, LM and constraint cache (the trie holds the LM's raw scores; the weights
        apply during the search), so nothing is read or built again."""
        if self._open is None:
            raise RuntimeError("no language model loaded: there are no LM weights to change")
        other = copy.copy(self)
        other.cfg = replace(self.cfg, lm_weight=lm_weight, word_score=word_score)
        other._open = replace(self._open, lm_weight=lm_weight, word_score=word_score)
        return other

    def widened(self, beam_size: int) -> "BeamDecoder":
        """The same decoder keeping another number of hypotheses (sharing all it has built)."""
        other = copy.copy(self)
        other.cfg = replace(self.cfg, beam_size=beam_size)
        return other

    def _cached(self, c: Constraint, build):
        """What a constraint needs, built on its first use and kept for the next requests."""
        with self._lock:
            if c in self._cache:
                self._cache.move_to_end(c)
                return self._cache[c]
        value = build()
        with self._lock:
            self._cache[c] = value
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return value

    def _constrained(self, c: Constraint) -> _Searcher:
        # any sequence of the words, all equally likely
        return self._cached(c, lambda: self._searcher(list(c.vocabulary), ZeroLM(), 0.0, 0.0))

    def _phrase_targets(self, c: Constraint) -> list[tuple[Tensor, Tensor]]:
        """The phrases as CTC targets, in groups of 256 (bounded memory for long lists)."""
        def build():
            groups = []
            for i in range(0, len(c.phrases), 256):
                encoded = [torch.tensor(self.vocab.encode(p)) for p in c.phrases[i:i + 256]]
                groups.append((torch.cat(encoded), torch.tensor([len(t) for t in encoded])))
            return groups
        return self._cached(c, build)

    def available(self, constraint: Constraint | None) -> bool:
        """Whether finals under this constraint get a beam search (an LM, or a constraint)."""
        return bool(constraint) or self._open is not None

    # ----- decoding ------------------------------------------------------------------
    def decode(self, logits: Tensor, constraint: Constraint | None = None,
               time_offset_s: float = 0.0, alternatives: int = 1) -> Hypothesis:
        """logits [T, vocab] of one utterance -> its final hypothesis with word times, and up to
        `alternatives` - 1 runners-up (distinct texts, best first) in its `alternatives`."""
        if constraint and constraint.phrases:
            return self._best_phrases(logits, constraint, time_offset_s, alternatives)
        s = self._constrained(constraint) if constraint else self._open
        if s is None:
            raise RuntimeError("no language model loaded and no constraint given")
        end_s = time_offset_s + logits.shape[0] * self.frame_s
        if logits.shape[0] == 0:
            return Hypothesis("", [], 0.0, True, end_s)
        # Lexicon words end in the separator, and the model emits none after the last word, so an
        # utterance ends with one certain separator frame: the last word can close there.
        log_probs = logits.float().log_softmax(-1)
        end = torch.full((1, log_probs.shape[1]), -1e4)
        end[0, self.sil] = 0.0
        log_probs = torch.cat([log_probs, end]).contiguous()
        opts = LexiconDecoderOptions(
            beam_size=self.cfg.beam_size, beam_size_token=self.tokens.index_size(),
            beam_threshold=self.cfg.beam_threshold, lm_weight=s.lm_weight, word_score=s.word_score,
            unk_score=float("-inf"), sil_score=self.cfg.sil_score, log_add=False, criterion_type=CriterionType.CTC)
        search = LexiconDecoder(opts, s.trie, s.lm, self.sil, BLANK, s.words.get_index(_UNK), [], False)
        T, V = log_probs.shape
        results = search.decode(log_probs.data_ptr(), T, V)
        if not results:
            return Hypothesis("", [], 0.0, True, end_s)
        probs = log_probs.exp()
        found: dict[str, Hypothesis] = {}
        for r in sorted(results, key=lambda r: -r.score):  # the beam holds many paths per text
            words = self._words(list(r.tokens)[1:T + 1], list(r.words)[1:T + 1], probs, s.words, time_offset_s)
            text = " ".join(w.word for w in words)
            if text not in found:
                conf = sum(w.confidence for w in words) / len(words) if words else 0.0
                found[text] = Hypothesis(text, words, conf, True, end_s)
                if len(found) == max(1, alternatives):
                    break
        best, *rest = found.values()
        best.alternatives = rest
        return best

    def _best_phrases(self, logits: Tensor, constraint: Constraint, offset: float, n: int) -> Hypothesis:
        """The phrases the audio most likely says: each phrase's exact CTC probability (the sum over
        all its alignments), best first; word times from its forced alignment; confidence is its
        share of the probability of all the phrases."""
        phrases = constraint.phrases
        end_s = offset + logits.shape[0] * self.frame_s
        log_probs = logits.float().log_softmax(-1)
        T = log_probs.shape[0]
        scores = []
        for targets, lengths in self._phrase_targets(constraint):
            n_group = len(lengths)
            scores.append(-F.ctc_loss(log_probs[:, None].expand(T, n_group, -1), targets,
                                      torch.full((n_group,), T), lengths, blank=BLANK, reduction="none"))
        scores = torch.cat(scores)
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

    def _words(self, path: list[int], emitted: list[int], probs: Tensor, word_dict: Dictionary,
               offset: float) -> list[Word]:
        """Word times from the best path: a word spans its first letter's frame to its last
        letter's; confidence is the mean probability of its letters' frames. (The search emits
        a word on the separator that closes it.)"""
        words, first, last, ps = [], None, None, []
        for t, (tok, w) in enumerate(zip(path, emitted)):
            if tok not in (BLANK, self.sil):
                first = t if first is None else first
                last = t
                ps.append(float(probs[t, tok]))
            if w >= 0:
                start = t if first is None else first
                end = t if last is None else last
                words.append(Word(word_dict.get_entry(w), offset + start * self.frame_s, offset + (end + 1) * self.frame_s,
                                  sum(ps) / len(ps) if ps else 0.0))
                first, last, ps = None, None, []
        return words


def arpa_vocabulary(path: str | Path) -> list[str]:
    """The words of an ARPA file's unigram section (the lexicon of open-vocabulary decoding)."""
    import gzip

    opener = gzip.open if str(path).endswith(".gz") else open
    words, inside = [], False
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.startswith("\\1-grams:"):
                inside = True
            elif line.startswith("\\2-grams:") or line.startswith("\\end\\"):
                break
            elif inside and line.strip():
                w = line.split("\t")[1].strip()
                if w not in (ngram.BOS, ngram.EOS, ngram.UNK):
                    words.append(w)
    return words
