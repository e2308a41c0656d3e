"""Word n-gram language models, written as ARPA files for the beam search decoder (KenLM reads them).

`wavestream lm TEXT ... --out FILE.arpa[.gz]` estimates an interpolated Kneser-Ney model: each
order discounts its counts by D = n1 / (n1 + 2 n2) and gives the mass to the next lower order,
whose counts are continuation counts (how many different words precede an n-gram), except for
n-grams that open a sentence, which keep their raw counts (as KenLM's lmplz does). Interpolated
probabilities go into the file as they are; for an unseen word the back-off weight is exactly the
interpolation weight, so the ARPA file is the interpolated model. Highest-order n-grams seen
fewer than `min_count` times are pruned, and their contexts' back-off weights renormalised.
A word list (`--words FILE`) adds words the text never uses to the vocabulary, each at an unseen
word's probability (what <unk> gets), so the search, which only spells the LM's words, can spell
them when the audio says them clearly.

No estimation tool (lmplz, SRILM) installs from a package registry here, hence this module;
querying is KenLM's, through flashlight-text.

The shipped LM travels as its text (`build_shipped`): the text, xz-compressed, is a sixth of the
ARPA file's size, and the build gives the same model every time (checked against the hash the
recipe recorded), in about a minute.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import lzma
import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

from .weighted import parse_weighted

BOS, EOS, UNK = "<s>", "</s>", "<unk>"


def _ngrams(sentences: Iterable[str], order: int) -> list[Counter]:
    counts = [Counter() for _ in range(order + 1)]  # counts[n]: n-gram tuple -> raw count
    for line in sentences:
        words = line.split()
        if not words:
            continue
        tokens = [BOS, *words, EOS]
        for n in range(1, order + 1):
            c = counts[n]
            for i in range(len(tokens) - n + 1):
                c[tuple(tokens[i:i + n])] += 1
    return counts


def _adjusted(counts: list[Counter], order: int) -> list[Counter]:
    """Kneser-Ney adjusted counts: raw at the top order and for n-grams opening a sentence,
    continuation counts (distinct left neighbours) below."""
    adjusted = [Counter() for _ in range(order + 1)]
    adjusted[order] = counts[order]
    for n in range(order - 1, 0, -1):
        cont = Counter(g[1:] for g in counts[n + 1])
        adjusted[n] = Counter({g: (c if g[0] == BOS else cont.get(g, c)) for g, c in counts[n].items()})
    return adjusted


def _discount(adjusted: Counter) -> float:
    n1 = sum(1 for c in adjusted.values() if c == 1)
    n2 = sum(1 for c in adjusted.values() if c == 2)
    if n1 == 0 or n2 == 0:
        return 0.5
    return min(0.95, max(0.05, n1 / (n1 + 2 * n2)))


def estimate(sentences: Iterable[str], order: int = 3, min_count: int = 2, words: Iterable[str] = ()) -> dict:
    """Interpolated Kneser-Ney. Returns {"probs": [n -> {ngram: p}], "backoff": {context: w}}.
    `words`: more vocabulary; those the text lacks share the unigram's uniform part with <unk>."""
    if order < 1:
        raise ValueError("order must be at least 1")
    counts = _ngrams(sentences, order)
    if not counts[1]:
        raise ValueError("no words in the language model text")
    adjusted = _adjusted(counts, order)
    probs: list[dict] = [{} for _ in range(order + 1)]
    backoff: dict[tuple, float] = {}
    seen = {g[0] for g in adjusted[1]}
    unseen = sorted(set(words) - seen - {BOS, EOS, UNK})
    vocab = [g[0] for g in adjusted[1] if g[0] != BOS] + unseen + [UNK]
    for n in range(1, order + 1):
        d = _discount(adjusted[n])
        totals: dict[tuple, float] = defaultdict(float)
        types: dict[tuple, int] = defaultdict(int)
        for g, c in adjusted[n].items():
            if g[-1] == BOS:
                continue
            totals[g[:-1]] += c
            types[g[:-1]] += 1
        gamma = {h: d * types[h] / totals[h] for h in totals}
        for g, c in adjusted[n].items():
            if g[-1] == BOS:
                continue
            h = g[:-1]
            lower = probs[n - 1][g[1:]] if n > 1 else 1.0 / len(vocab)
            probs[n][g] = max(c - d, 0.0) / totals[h] + gamma[h] * lower
        if n == 1:
            for w in (*unseen, UNK):
                probs[1][(w,)] = gamma[()] / len(vocab)
        for h, w in gamma.items():
            if n > 1:
                backoff[h] = w
    if order > 1 and min_count > 1:
        _prune(probs, backoff, counts[order], order, min_count)
    probs[1][(BOS,)] = 0.0
    return {"probs": probs, "backoff": backoff, "order": order}


def _prune(probs, backoff, raw: Counter, order: int, min_count: int) -> None:
    """Drop rare top-order n-grams; a context's back-off weight takes up the mass they had."""
    kept_p: dict[tuple, float] = defaultdict(float)
    kept_lower: dict[tuple, float] = defaultdict(float)
    top = probs[order]
    for g in list(top):
        if raw[g] < min_count:
            del top[g]
        else:
            kept_p[g[:-1]] += top[g]
            kept_lower[g[:-1]] += probs[order - 1][g[1:]]
    for h in list(backoff):
        if len(h) == order - 1:
            if h in kept_p:
                backoff[h] = max(1e-12, 1.0 - kept_p[h]) / max(1e-12, 1.0 - kept_lower[h])
            else:
                backoff[h] = 1.0  # every continuation pruned: back off whole


def _text_writer(path: Path, gz: bool):
    """A text file, gzip-compressed with no time stamp in its header, so that the same text gives
    the same bytes (a rebuilt LM shows in `git status` only where it changed)."""
    if not gz:
        return open(path, "w", encoding="utf-8")
    return io.TextIOWrapper(gzip.GzipFile(path, "wb", mtime=0), encoding="utf-8")


def write_arpa(model: dict, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    probs, backoff, order = model["probs"], model["backoff"], model["order"]
    tmp = path.with_name(path.name + ".partial")
    with _text_writer(tmp, gz=path.suffix == ".gz") as f:
        f.write("\\data\\\n")
        for n in range(1, order + 1):
            f.write(f"ngram {n}={len(probs[n])}\n")
        for n in range(1, order + 1):
            f.write(f"\n\\{n}-grams:\n")
            for g in sorted(probs[n]):
                p = probs[n][g]
                logp = -99.0 if p <= 0 else math.log10(p)
                line = f"{logp:.6f}\t{' '.join(g)}"
                if n < order and g in backoff:
                    line += f"\t{math.log10(max(backoff[g], 1e-12)):.6f}"
                f.write(line + "\n")
        f.write("\n\\end\\\n")
    tmp.replace(path)
    return path


def weighted_text(spec: str | Path) -> tuple[Path, int]:
    """'digits.txt:3' -> (digits.txt, 3): the text counts three times over, as if given three times (a
    small text keeps its share of sentences beside a large one); no suffix -> 1."""
    path, weight = parse_weighted(str(spec))
    if not weight.is_integer() or weight < 1:
        raise ValueError(f"{spec}: a text's weight is how many times it counts, a whole number from 1")
    return Path(path), int(weight)


def _open_text(path: Path):
    """A text file, or one compressed as .xz or .gz (the shipped LM's text is .xz)."""
    opener = {".xz": lzma.open, ".gz": gzip.open}.get(path.suffix, open)
    return opener(path, "rt", encoding="utf-8")


def read_words(files: Iterable[str | Path]) -> set[str]:
    """The words of word lists (whitespace-separated; .xz and .gz read as they are)."""
    words: set[str] = set()
    for path in files:
        with _open_text(Path(path)) as f:
            for line in f:
                words.update(line.split())
    return words


def build(text_files: list[str | Path], out: str | Path, order: int = 3, min_count: int = 2,
          word_files: Iterable[str | Path] = ()) -> dict:
    """Estimate from text files (one normalised sentence a line; .xz and .gz read as they are; FILE:N
    counts FILE N times over) and word lists (`estimate`'s words), and write the ARPA file."""
    texts = [weighted_text(t) for t in text_files]
    words = read_words(word_files)

    def lines():
        for path, times in texts:
            for _ in range(times):
                with _open_text(path) as f:
                    yield from (line.strip() for line in f)
    model = estimate(lines(), order, min_count, words)
    path = write_arpa(model, out)
    return {"arpa": str(path), "order": order, "words": len(model["probs"][1]) - 3,  # less <s>, </s>, <unk>
            **{f"{n}-grams": len(model["probs"][n]) for n in range(1, order + 1)}}


BUILD_FILE = "build.json"  # in a text folder: what `build_shipped` builds, and the hash it must come to


def arpa_sha256(path: str | Path) -> str:
    """The hash of an ARPA file's text (a .gz one's, uncompressed: zlib's bytes may differ between versions)."""
    digest = hashlib.sha256()
    with (gzip.open if str(path).endswith(".gz") else open)(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def record_build(text_dir: str | Path, texts: list[str], order: int, min_count: int, arpa: str | Path,
                 words: list[str] = ()) -> Path:
    """Writes TEXT_DIR/build.json: the texts and word lists (names in TEXT_DIR, FILE:N as `build` takes
    them), the settings, and the hash of the ARPA file they built (the recipe's lm stage, after building it)."""
    path = Path(text_dir) / BUILD_FILE
    spec = {"texts": texts, **({"words": list(words)} if words else {}), "order": order, "min_count": min_count,
            "arpa_sha256": arpa_sha256(arpa)}
    path.write_text(json.dumps(spec, indent=2) + "\n")
    return path


def build_shipped(text_dir: str | Path, out: str | Path) -> dict:
    """Builds the LM that TEXT_DIR/build.json describes into OUT, and checks it is the one recorded
    (the LM whose readings the model card gives); a mismatch is an error, and OUT is not left behind."""
    text_dir = Path(text_dir)
    spec = json.loads((text_dir / BUILD_FILE).read_text())
    report = build([text_dir / t for t in spec["texts"]], out, spec["order"], spec["min_count"],
                   [text_dir / w for w in spec.get("words", [])])
    if arpa_sha256(out) != spec["arpa_sha256"]:
        Path(out).unlink()
        raise ValueError(f"the LM built from {text_dir} is not the one {BUILD_FILE} records (its text or the "
                         f"estimator changed): rebuild it with the recipe's lm stage, or check out its text again")
    return report
