"""Is one reading of a test set better than another, or is the difference noise?

`wavestream compare BASELINE.json CANDIDATE.json`: both files are `wavestream eval --json
--utterances` output for the same utterances. A paired bootstrap over utterances (Bisani and Ney,
"Bootstrap estimates for confidence intervals in ASR performance evaluation", ICASSP 2004): draw the
test set's utterances again with replacement many times, score both readings on each draw, and count
how often the candidate's WER is the lower one (the probability of improvement). Resampling whole
utterances keeps what the two readings share (the same hard clips) paired, which a test on the two
WERs alone would lose. A few lines of numpy; no statistics library is a dependency for this.
"""

from __future__ import annotations

import json
from pathlib import Path

import jiwer
import numpy as np


def word_errors(ref: str, hyp: str) -> int:
    """Substitutions, deletions and insertions of `hyp` against `ref` (jiwer's alignment)."""
    out = jiwer.process_words(ref, hyp)
    return out.substitutions + out.deletions + out.insertions


def paired_bootstrap(errors_a, errors_b, words, resamples: int = 10_000, seed: int = 0) -> dict:
    """`errors_a[i]`, `errors_b[i]`: word errors of readings A and B of utterance i, `words[i]` its
    reference words. B's WER minus A's, the 95% interval of that difference over the draws, and the
    share of draws in which B's WER is strictly lower (ties count against B)."""
    e_a, e_b, w = (np.asarray(x, dtype=np.int64) for x in (errors_a, errors_b, words))
    if not (e_a.shape == e_b.shape == w.shape) or e_a.ndim != 1 or e_a.size == 0:
        raise ValueError("paired_bootstrap needs one errors_a, errors_b and words count per utterance, at least one")
    if w.sum() == 0:
        raise ValueError("the references have no words")
    rng = np.random.default_rng(seed)
    deltas = []
    for start in range(0, resamples, 1000):  # in blocks: a draw is as long as the test set
        idx = rng.integers(0, w.size, size=(min(1000, resamples - start), w.size))
        n = np.maximum(w[idx].sum(axis=1), 1)  # a draw of word-less utterances only scores 0 for both
        deltas.append((e_b[idx].sum(axis=1) - e_a[idx].sum(axis=1)) / n)
    delta = np.concatenate(deltas)
    low, high = np.quantile(delta, [0.025, 0.975])
    return {"wer_a": float(e_a.sum() / w.sum()), "wer_b": float(e_b.sum() / w.sum()),
            "delta": float((e_b.sum() - e_a.sum()) / w.sum()), "delta_ci95": [float(low), float(high)],
            "p_b_better": float(np.mean(delta < 0)), "resamples": int(delta.size)}


def _results(path: str | Path) -> dict[str, dict]:
    """`wavestream eval --json` output (one manifest's object, or a list of them) by manifest."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: cannot read wavestream eval --json output: {e}") from e
    results = data if isinstance(data, list) else [data]
    if not all(isinstance(r, dict) and "manifest" in r for r in results):
        raise ValueError(f"{path}: not wavestream eval --json output")
    missing = [r["manifest"] for r in results if "utterances" not in r]
    if missing:
        raise ValueError(f"{path}: no per-utterance readings for {', '.join(missing)}; "
                         "run wavestream eval with --utterances")
    return {r["manifest"]: r for r in results}


def compare(baseline: str | Path, candidate: str | Path, resamples: int = 10_000, seed: int = 0) -> list[dict]:
    """Per manifest that both files scored: the paired bootstrap of the candidate against the baseline."""
    a, b = _results(baseline), _results(candidate)
    shared = [m for m in a if m in b]
    if not shared:
        raise ValueError(f"{baseline} and {candidate} score no manifest in common")
    rows = []
    for manifest in shared:
        ua = {u["audio"]: u for u in a[manifest]["utterances"]}
        ub = {u["audio"]: u for u in b[manifest]["utterances"]}
        if ua.keys() != ub.keys():
            raise ValueError(f"{manifest}: the two files read different utterances ({len(ua)} and {len(ub)}; "
                             "was one run with --limit?)")
        if any(ua[k]["ref"] != ub[k]["ref"] for k in ua):
            raise ValueError(f"{manifest}: the two files have different references for the same audio")
        keys = [k for k in ua if ua[k]["ref"].strip()]  # as the WER does: no word-less references
        words = [len(ua[k]["ref"].split()) for k in keys]
        stats = paired_bootstrap([word_errors(ua[k]["ref"], ua[k]["hyp"]) for k in keys],
                                 [word_errors(ub[k]["ref"], ub[k]["hyp"]) for k in keys], words, resamples, seed)
        rows.append({"manifest": manifest, "n": len(keys), "words": sum(words),
                     "baseline": a[manifest].get("model"), "candidate": b[manifest].get("model"),
                     "wer_baseline": stats["wer_a"], "wer_candidate": stats["wer_b"], "delta": stats["delta"],
                     "delta_ci95": stats["delta_ci95"], "p_candidate_better": stats["p_b_better"],
                     "resamples": stats["resamples"]})
    return rows
