"""Lexicon-constrained CTC beam search with a word n-gram LM: flashlight-text's decoder (what
torchaudio's `ctc_decoder` wraps), which only spells words of a lexicon and scores them with KenLM.

Free of torch on purpose: `models/search_pool.py` runs it in worker processes (the search holds
the GIL while it runs), and a worker that imports torch costs about 400 MB more.

- open vocabulary: the lexicon is the LM's vocabulary (every unigram of the ARPA file);
- a constrained vocabulary: any sequence of its words, all equally likely (no LM).

Constrained lexicons are built on first use and cached; the tries and LMs are read-only, and
each search gets its own decoder object, so threads can share a LexiconSearch.
"""

from __future__ import annotations

import copy
import functools
import gzip
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from flashlight.lib.text.decoder import (CriterionType, LexiconDecoder, LexiconDecoderOptions, SmearingMode, Trie,
                                         ZeroLM)
from flashlight.lib.text.decoder.kenlm import KenLM
from flashlight.lib.text.dictionary import Dictionary, create_word_dict

from . import lm as ngram

BLANK = 0  # the models' CTC blank (models.ctc.BLANK)
_SIL, _BLANK, _UNK = "|", "-", "<unk>"


@dataclass(frozen=True)
class SearchOptions:
    beam_size: int
    beam_threshold: float = 20.0
    sil_score: float = 0.0


@dataclass
class Reading:
    """A text the search found, with its words as (word, first frame, end frame, confidence):
    a word spans its first letter's frame to its last letter's; confidence is the mean
    probability of its letters' frames. `language_score`: the part of the search's score that is
    not the audio's (the LM's score times its weight, plus the word score per word; 0 for a
    constrained vocabulary), so the text can be scored again against other readings of the audio.
    `lm_score`: the LM's own log-probability of the text, unweighed, so it can be weighed again."""

    text: str
    words: list[tuple[str, int, int, float]]
    language_score: float = 0.0
    lm_score: float = 0.0


@dataclass
class _Lexicon:
    """A lexicon trie and the LM that scores it: everything a search needs but its own state."""

    trie: Trie
    lm: object
    words: Dictionary
    word_score: float
    lm_weight: float


class LexiconSearch:
    """The searches over one model's outputs (`chars`: its vocabulary; output 0 is the blank,
    output i the character chars[i - 1], space the word separator)."""

    def __init__(self, chars: str, lm_path: str | Path | None = None, lm_weight: float = 0.0,
                 word_score: float = 0.0, cache_size: int = 32):
        self.chars = set(chars)
        self.tokens = Dictionary([_BLANK] + [_SIL if c == " " else c for c in chars])
        self.sil = self.tokens.get_index(_SIL)
        # a constrained vocabulary's lexicon, built on its first use and kept for the next requests
        self._constrained = functools.lru_cache(cache_size)(self._build_constrained)
        self._open = (self._lexicon(arpa_vocabulary(lm_path), str(lm_path), word_score, lm_weight)
                      if lm_path else None)

    @property
    def has_lm(self) -> bool:
        return self._open is not None

    def _spell(self, word: str) -> list[int] | None:
        """Letters then the separator: without it, the search reads a letter held over two
        frames as a double letter at the end of a word ("the" -> "thee")."""
        if not word or " " in word or any(c not in self.chars for c in word):
            return None
        return [self.tokens.get_index(c) for c in word] + [self.sil]

    def _lexicon(self, words: list[str], lm, word_score: float, lm_weight: float) -> _Lexicon:
        """The trie carries each word's LM score from the sentence start, smeared back over its
        letters so the search can prune words the LM dislikes before they end."""
        lexicon = {w: [[w]] for w in words if self._spell(w)}
        lexicon[_UNK] = [[_UNK]]
        word_dict = create_word_dict(lexicon)
        if isinstance(lm, str):
            lm = KenLM(lm, word_dict)
        trie = Trie(self.tokens.index_size(), self.sil)
        start = lm.start(False)
        for w in lexicon:
            if w == _UNK:
                continue
            idx = word_dict.get_index(w)
            _, score = lm.score(start, idx)
            trie.insert(self._spell(w), idx, score)
        trie.smear(SmearingMode.MAX)
        return _Lexicon(trie, lm, word_dict, word_score, lm_weight)

    def reweighted(self, lm_weight: float, word_score: float) -> "LexiconSearch":
        """The same searches with other open-vocabulary weights, sharing the lexicon, LM and
        constraint cache (the trie holds the LM's raw scores; the weights apply during the search)."""
        if self._open is None:
            raise RuntimeError("no language model loaded: there are no LM weights to change")
        other = copy.copy(self)
        other._open = replace(self._open, lm_weight=lm_weight, word_score=word_score)
        return other

    def worker_pids(self) -> list[int]:
        """None: the searches run in the calling thread (`SearchPool` has the same two methods)."""
        return []

    def close(self) -> None:
        """Nothing to stop."""

    def _build_constrained(self, vocabulary: tuple[str, ...]) -> _Lexicon:
        return self._lexicon(list(vocabulary), ZeroLM(), 0.0, 0.0)

    def search(self, log_probs: np.ndarray, vocabulary: tuple[str, ...], opts: SearchOptions,
               n: int = 1) -> list[Reading]:
        """log_probs [T, outputs] (float32) of one utterance -> up to n distinct texts, best
        first; `vocabulary` empty: the open vocabulary (needs an LM)."""
        lex = self._constrained(vocabulary) if vocabulary else self._open
        if lex is None:
            raise RuntimeError("no language model loaded and no constraint given")
        if log_probs.shape[0] == 0:
            return []
        # Lexicon words end in the separator, and the model emits none after the last word, so an
        # utterance ends with one certain separator frame: the last word can close there.
        end = np.full((1, log_probs.shape[1]), -1e4, dtype=np.float32)
        end[0, self.sil] = 0.0
        x = np.ascontiguousarray(np.concatenate([log_probs.astype(np.float32, copy=False), end]))
        decoder_opts = LexiconDecoderOptions(
            beam_size=opts.beam_size, beam_size_token=self.tokens.index_size(), beam_threshold=opts.beam_threshold,
            lm_weight=lex.lm_weight, word_score=lex.word_score, unk_score=float("-inf"), sil_score=opts.sil_score,
            log_add=False, criterion_type=CriterionType.CTC)
        decoder = LexiconDecoder(decoder_opts, lex.trie, lex.lm, self.sil, BLANK, lex.words.get_index(_UNK), [], False)
        T = x.shape[0]
        results = decoder.decode(x.ctypes.data, T, x.shape[1])
        probs = np.exp(x)
        found: dict[str, Reading] = {}
        for r in sorted(results, key=lambda r: -r.score):  # the beam holds many paths per text
            words = self._words(list(r.tokens)[1:T + 1], list(r.words)[1:T + 1], probs, lex.words)
            text = " ".join(w[0] for w in words)
            if text not in found:
                found[text] = Reading(text, words, r.score - r.emittingModelScore, r.lmScore)
                if len(found) == max(1, n):
                    break
        return list(found.values())

    def _words(self, path: list[int], emitted: list[int], probs: np.ndarray, word_dict: Dictionary):
        """The words of a path (the search emits a word on the separator that closes it)."""
        words, first, last, ps = [], None, None, []
        for t, (tok, w) in enumerate(zip(path, emitted)):
            if tok not in (BLANK, self.sil):
                first = t if first is None else first
                last = t
                ps.append(float(probs[t, tok]))
            if w >= 0:
                start = t if first is None else first
                end = t if last is None else last
                words.append((word_dict.get_entry(w), start, end + 1, sum(ps) / len(ps) if ps else 0.0))
                first, last, ps = None, None, []
        return words


def arpa_vocabulary(path: str | Path) -> list[str]:
    """The words of an ARPA file's unigram section (the lexicon of open-vocabulary decoding)."""
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
