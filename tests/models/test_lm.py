"""The word n-gram estimator: a proper distribution in every context, and an ARPA file KenLM reads."""

import math
import random

import pytest

from models.lm import BOS, EOS, UNK, build, estimate

WORDS = "the a cat dog sat ran on under mat rug big small red".split()


def corpus(n=400, seed=0):
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 8))) for _ in range(n)]


def prob(model, w, h):
    """p(w | h) the way an ARPA reader computes it: the listed n-gram, else back off."""
    P, B = model["probs"], model["backoff"]
    n = len(h) + 1
    if h + (w,) in P[n]:
        return P[n][h + (w,)]
    return B.get(h, 1.0) * prob(model, w, h[1:]) if h else P[1][(UNK,)]


@pytest.mark.parametrize("min_count", [1, 2, 3])
def test_every_context_sums_to_one(min_count):
    model = estimate(corpus(), order=3, min_count=min_count)
    vocab = [g[0] for g in model["probs"][1] if g[0] != BOS]
    assert EOS in vocab and UNK in vocab
    for h in [(), ("the",), ("cat", "sat"), (BOS,), (BOS, "the"), ("mat", "the"), ("red", "red")]:
        assert sum(prob(model, w, h) for w in vocab) == pytest.approx(1.0, abs=1e-9), h


def test_seen_continuations_beat_unseen_ones():
    model = estimate(["turn on the lights"] * 20 + ["turn off the radio"] * 20, order=3, min_count=1)
    assert prob(model, "lights", ("on", "the")) > 10 * prob(model, "radio", ("on", "the"))
    assert prob(model, EOS, ("the", "lights")) > 0.5


def test_arpa_file_loads_in_kenlm_and_scores_like_the_estimate(tmp_path):
    from flashlight.lib.text.decoder.kenlm import KenLM
    from flashlight.lib.text.dictionary import Dictionary

    text = tmp_path / "text.txt"
    text.write_text("\n".join(corpus()) + "\n")
    report = build([text], tmp_path / "lm.arpa.gz", order=3, min_count=1)
    assert report["words"] == len(WORDS) and report["3-grams"] > 0
    words = Dictionary(WORDS + [UNK])
    lm = KenLM(str(tmp_path / "lm.arpa.gz"), words)
    model = estimate(corpus(), order=3, min_count=1)
    state = lm.start(False)
    state, score = lm.score(state, words.get_index("the"))
    expected = math.log10(prob(model, "the", (BOS,)))
    # flashlight reports KenLM's log10 scores in natural log
    assert score in (pytest.approx(expected, abs=1e-4), pytest.approx(expected * math.log(10), abs=1e-4))


def test_the_same_text_builds_the_same_bytes(tmp_path, monkeypatch):
    """A rebuilt LM (the recipe's lm stage) must not show as changed in git when its text did not."""
    import time

    text = tmp_path / "text.txt"
    text.write_text("\n".join(corpus()) + "\n")
    first = build([text], tmp_path / "a" / "lm.arpa.gz", order=3, min_count=1)
    monkeypatch.setattr(time, "time", lambda: 2_000_000_000.0)  # what gzip stamps into a header, by default
    build([text], tmp_path / "b" / "lm.arpa.gz", order=3, min_count=1)
    assert (tmp_path / "a" / "lm.arpa.gz").read_bytes() == (tmp_path / "b" / "lm.arpa.gz").read_bytes()
    assert first["words"] == len(WORDS)


def test_no_words_is_an_error():
    with pytest.raises(ValueError, match="no words"):
        estimate(["", "   "])


def test_a_weighted_text_counts_as_that_many_copies_of_it(tmp_path):
    """`wavestream lm big.txt digits.txt:3`: the recipe keeps the digit strings' share of the LM's sentences so."""
    big, small = tmp_path / "big.txt", tmp_path / "small.txt"
    big.write_text("\n".join(corpus()) + "\n")
    small.write_text("one two\nthree\n")
    build([big, small, small, small], tmp_path / "a" / "lm.arpa.gz", order=3, min_count=1)
    report = build([big, f"{small}:3"], tmp_path / "b" / "lm.arpa.gz", order=3, min_count=1)
    assert (tmp_path / "a" / "lm.arpa.gz").read_bytes() == (tmp_path / "b" / "lm.arpa.gz").read_bytes()
    once = build([big, small], tmp_path / "c" / "lm.arpa.gz", order=3, min_count=1)
    assert report["words"] == once["words"]  # the same words, counted more
    assert (tmp_path / "c" / "lm.arpa.gz").read_bytes() != (tmp_path / "b" / "lm.arpa.gz").read_bytes()


@pytest.mark.parametrize("weight", ["0", "1.5"])
def test_a_weight_that_is_not_a_whole_count_is_refused(tmp_path, weight):
    text = tmp_path / "t.txt"
    text.write_text("one two\n")
    with pytest.raises(ValueError, match="whole number"):
        build([f"{text}:{weight}"], tmp_path / "lm.arpa.gz")


def test_a_word_list_adds_words_the_text_lacks_at_an_unseen_words_probability():
    """`wavestream lm TEXT --words LIST`: the search spells only the LM's words, so a word a user says that the
    text never used can only come out once a list adds it; it must not crowd out the text's words."""
    words = ["zebra", "quagga", "cat", EOS]  # two the text has: nothing changes for them but the shared uniform part
    model = estimate(corpus(), order=3, min_count=1, words=words)
    vocab = [g[0] for g in model["probs"][1] if g[0] != BOS]
    assert {"zebra", "quagga"} <= set(vocab) and len(vocab) == len(WORDS) + 4  # the text's, </s>, two new, <unk>
    for h in [(), ("the",), ("cat", "sat"), (BOS,), (BOS, "the")]:
        assert sum(prob(model, w, h) for w in vocab) == pytest.approx(1.0, abs=1e-9), h
        assert prob(model, "zebra", h) < min(prob(model, w, h) for w in WORDS)
    assert model["probs"][1][("zebra",)] == model["probs"][1][("quagga",)] == model["probs"][1][(UNK,)]
    without = estimate(corpus(), order=3, min_count=1)
    assert prob(model, "sat", ("the", "cat")) == pytest.approx(prob(without, "sat", ("the", "cat")), rel=0.02)


def test_a_listed_word_can_be_spelt_by_the_search_and_an_unlisted_one_cannot(tmp_path):
    from models.beam import BeamDecoder
    from models.ctc import greedy_transcript
    from tests.models.test_beam import FRAME_S, VOCAB, emissions

    text = tmp_path / "text.txt"
    text.write_text("\n".join(corpus()) + "\n")
    (tmp_path / "words.txt").write_text("zebra\nquagga okapi\n")
    plain = build([text], tmp_path / "plain.arpa.gz", order=3, min_count=1)
    listed = build([text], tmp_path / "listed.arpa.gz", order=3, min_count=1, word_files=[tmp_path / "words.txt"])
    assert listed["words"] == plain["words"] + 3
    x = emissions("the zebra sat")
    assert "zebra" not in BeamDecoder(VOCAB, FRAME_S, plain["arpa"]).decode(x).text
    assert BeamDecoder(VOCAB, FRAME_S, listed["arpa"]).decode(x).text == "the zebra sat"
    # a listed word is the least likely of words: a small lean of the letters to it does not beat the text's word
    (tmp_path / "rat.txt").write_text("rat\n")
    with_rat = build([text], tmp_path / "rat.arpa.gz", order=3, min_count=1, word_files=[tmp_path / "rat.txt"])
    lean = emissions("the cat sat")
    c = 3 * "the cat sat".index("c")  # three frames a character
    lean[c:c + 2, VOCAB.index["r"]] = 0.0
    lean[c:c + 2, VOCAB.index["c"]] = -1.0
    assert "rat" in greedy_transcript(lean, VOCAB, FRAME_S).text
    assert BeamDecoder(VOCAB, FRAME_S, with_rat["arpa"]).decode(lean).text == "the cat sat"
    lean[c:c + 2, VOCAB.index["c"]] = -8.0  # said clearly, it comes out
    assert BeamDecoder(VOCAB, FRAME_S, with_rat["arpa"]).decode(lean).text == "the rat sat"


def test_the_shipped_lm_is_built_from_its_text_and_checked_against_the_recorded_hash(tmp_path):
    """The repository keeps the LM's text (xz) and build.json; `make lm` builds it and must get the card's LM."""
    import lzma

    from models.lm import arpa_sha256, build_shipped, record_build

    text_dir = tmp_path / "text"
    text_dir.mkdir()
    with lzma.open(text_dir / "sentences.txt.xz", "wt") as f:
        f.write("\n".join(corpus()) + "\n")
    (text_dir / "digits.txt").write_text("one two\nthree\n")
    with lzma.open(text_dir / "words.txt.xz", "wt") as f:
        f.write("zebra\nquagga\n")
    texts = ["sentences.txt.xz", "digits.txt:3"]
    made = build([text_dir / t for t in texts], tmp_path / "made.arpa.gz", order=3, min_count=1,
                 word_files=[text_dir / "words.txt.xz"])
    record_build(text_dir, texts, 3, 1, tmp_path / "made.arpa.gz", words=["words.txt.xz"])

    report = build_shipped(text_dir, tmp_path / "lm.arpa.gz")
    assert report == {**made, "arpa": str(tmp_path / "lm.arpa.gz")}
    assert arpa_sha256(tmp_path / "lm.arpa.gz") == arpa_sha256(tmp_path / "made.arpa.gz")

    (text_dir / "digits.txt").write_text("one two\nthree four\n")  # the text changed since the LM was recorded
    with pytest.raises(ValueError, match="not the one build.json records"):
        build_shipped(text_dir, tmp_path / "other.arpa.gz")
    assert not (tmp_path / "other.arpa.gz").exists()


def test_the_checkouts_lm_is_the_one_its_text_records():
    """`make lm` built it; an LM left from an older text would give other finals than the card's."""
    import json

    from models.lm import arpa_sha256
    from models.registry import SHIPPED_LM, SHIPPED_LM_TEXT

    recorded = json.loads((SHIPPED_LM_TEXT / "build.json").read_text())["arpa_sha256"]
    assert arpa_sha256(SHIPPED_LM) == recorded, "run `make lm` again (rm models/weights/lm/english-3gram.arpa.gz)"


def test_an_unbuilt_shipped_lm_is_a_clear_error_not_greedy_finals(tmp_path, monkeypatch):
    from models import registry

    monkeypatch.setattr(registry, "SHIPPED_LM", tmp_path / "english-3gram.arpa.gz")
    with pytest.raises(registry.ModelNotFound, match="make lm"):
        registry.resolve_lm("default")
    assert registry.resolve_lm("none") is None
