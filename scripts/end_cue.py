"""Whether a word trigram tells a sentence's end from a pause inside it: the cue an endpointer would need to
end an utterance at a short quiet (under a second) without cutting sentences at their pauses.

For each recording of MANIFEST whose `raw_text` (the punctuated transcript) spells its `text` word for word,
the LM's log10 P(</s> | the words so far) at its end, at each inner punctuation mark (a comma, semicolon,
colon, dash or closing bracket: where a reader pauses) and at every inner word boundary, and for a few
thresholds the share of each kept (the cue would say "ended"). A cue worth having keeps the ends and drops the
pauses.

    .venv/bin/python scripts/end_cue.py LM.arpa.gz out/shipped/lj-train.jsonl

Read it with an LM that never saw the transcripts (the recipe's no-lj LM for the real reader's training clips):
one that did has their ends by heart.
"""

from __future__ import annotations

import argparse
import json
import re

import numpy as np
from flashlight.lib.text.decoder.kenlm import KenLM
from flashlight.lib.text.dictionary import create_word_dict

from models.lexicon_search import arpa_vocabulary

PAUSE_MARK = re.compile(r"([,;:)]|--)$")
THRESHOLDS = (-2.0, -1.75, -1.5, -1.25, -1.0)


def spoken_words(token: str) -> list[str]:
    """A raw transcript's token as the normalised text spells it (lower case, a hyphen a space)."""
    return re.sub(r"[^a-z' ]", "", token.lower().replace("-", " ")).split()


def pause_points(raw: str, words: list[str]) -> list[int] | None:
    """The word counts after which `raw` has a pause mark inside the sentence; None where `raw` does not
    spell `words` (numbers written as digits, say)."""
    seen, marks = [], []
    for token in raw.split():
        seen += spoken_words(token)
        if PAUSE_MARK.search(token) and 0 < len(seen) < len(words):
            marks.append(len(seen))
    return marks if seen == words else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("lm")
    ap.add_argument("manifests", nargs="+")
    args = ap.parse_args()
    vocabulary = arpa_vocabulary(args.lm)
    words_dict = create_word_dict({w: [[w]] for w in [*vocabulary, "<unk>"]})
    lm = KenLM(args.lm, words_dict)

    def end_score(words: list[str]) -> float:
        state = lm.start(False)
        for w in words:
            state, _ = lm.score(state, words_dict.get_index(w))
        return lm.finish(state)[1]

    scores: dict[str, list[float]] = {"ends": [], "pauses": [], "inner boundaries": []}
    recordings = skipped = 0
    for manifest in args.manifests:
        for r in map(json.loads, open(manifest)):
            words = r["text"].split()
            marks = pause_points(r.get("raw_text", ""), words)
            if marks is None:
                skipped += 1
                continue
            recordings += 1
            scores["ends"].append(end_score(words))
            scores["pauses"] += [end_score(words[:k]) for k in marks]
            scores["inner boundaries"] += [end_score(words[:k]) for k in range(1, len(words))]
    report = {"recordings": recordings, "skipped (no raw_text that spells the text)": skipped,
              "log10 P(</s>) quartiles": {k: np.percentile(v, [25, 50, 75]).round(2).tolist() if v else []
                                          for k, v in scores.items()},
              "counts": {k: len(v) for k, v in scores.items()},
              "kept at threshold": {f"{t:g}": {k: round(float(np.mean(np.array(v) >= t)), 3) if v else None
                                                for k, v in scores.items()} for t in THRESHOLDS}}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
