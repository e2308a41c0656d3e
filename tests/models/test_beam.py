"""Beam search finals: the LM and constraints change what comes out the way a user expects,
word times stay right, and streamed finals equal offline finals."""

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from models.beam import BeamConfig, BeamDecoder, Constraint
from models.ctc import Vocabulary, greedy_transcript
from models.engine import Recogniser
from models.lm import build
from models.registry import untrained_model

VOCAB = Vocabulary(" 'abcdefghijklmnopqrstuvwxyz")
FRAME_S = 0.04


def emissions(text: str, frames_per_char: int = 2, noise: float = 0.0, seed: int = 0) -> torch.Tensor:
    """Logits a model might give for `text`: each character held a few frames, then a blank."""
    g = torch.Generator().manual_seed(seed)
    rows = []
    for ch in text:
        for tok in [VOCAB.index[ch]] * frames_per_char + [0]:
            r = torch.full((len(VOCAB),), -8.0)
            r[tok] = 0.0
            rows.append(r)
    x = torch.stack(rows)
    return x + noise * torch.randn(x.shape, generator=g)


@pytest.fixture(scope="module")
def lm_path(tmp_path_factory):
    d = tmp_path_factory.mktemp("lm")
    text = d / "text.txt"
    text.write_text("\n".join(["the cat sat on the mat", "the dog sat on the rug", "a cat ran under the mat",
                               "the mat is red", "a dog is big"] * 20) + "\n")
    return build([text], d / "lm.arpa.gz", order=3, min_count=1)["arpa"]


def test_a_letter_held_over_frames_is_one_letter(lm_path):
    dec = BeamDecoder(VOCAB, FRAME_S, lm_path)
    for frames in (1, 2, 3):
        assert dec.decode(emissions("the cat sat on the mat", frames)).text == "the cat sat on the mat"


def test_the_language_model_repairs_what_greedy_gets_wrong(lm_path):
    x = emissions("the cat sat on the mat")
    # the acoustics lean to "k" over "c" (3 frames a character): greedy follows them, the LM knows better
    kat = x.clone()
    c = 3 * "the cat".index("cat")
    kat[c:c + 2, VOCAB.index["k"]] = 0.0
    kat[c:c + 2, VOCAB.index["c"]] = -1.0
    assert "kat" in greedy_transcript(kat, VOCAB, FRAME_S).text
    assert BeamDecoder(VOCAB, FRAME_S, lm_path).decode(kat).text == "the cat sat on the mat"


def test_word_times_follow_the_audio(lm_path):
    hyp = BeamDecoder(VOCAB, FRAME_S, lm_path).decode(emissions("the cat sat"), time_offset_s=10.0)
    assert [w.word for w in hyp.words] == ["the", "cat", "sat"]
    starts = [w.start_s for w in hyp.words]
    assert starts == sorted(starts) and starts[0] == pytest.approx(10.0)
    assert all(w.start_s < w.end_s <= hyp.end_time_s + 1e-6 for w in hyp.words)
    assert all(0.9 < w.confidence <= 1.0 for w in hyp.words)


def test_other_lm_weights_decode_as_a_decoder_built_with_them(lm_path):
    """What the tune stage relies on: reweighting shares the lexicon and LM, yet decodes exactly as
    a decoder built afresh with those weights, and leaves the original as it was."""
    noisy = emissions("the cat sat on the mat", noise=3.0, seed=1)
    dec = BeamDecoder(VOCAB, FRAME_S, lm_path)
    before = dec.decode(noisy)
    texts = set()
    for lm_weight, word_score in ((0.0, 0.0), (0.0, -3.0), (3.0, 0.0), (1.0, 2.0)):
        got = dec.reweighted(lm_weight, word_score).decode(noisy)
        fresh = BeamDecoder(VOCAB, FRAME_S, lm_path, BeamConfig(lm_weight=lm_weight, word_score=word_score)).decode(noisy)
        assert (got.text, got.confidence) == (fresh.text, fresh.confidence)
        texts.add(got.text)
    assert len(texts) > 1  # the weights do change this input's reading
    assert dec.decode(noisy).text == before.text
    with pytest.raises(RuntimeError, match="no language model"):
        BeamDecoder(VOCAB, FRAME_S, None).reweighted(1.0, 0.0)


def test_a_widened_decoder_decodes_as_one_built_with_that_beam(lm_path):
    """What the tune stage's --beam-sizes relies on: the LM read once, every width decoded as built afresh."""
    noisy = emissions("the cat sat on the mat", noise=3.0, seed=1)
    dec = BeamDecoder(VOCAB, FRAME_S, lm_path, BeamConfig(beam_size=64))
    for size in (1, 4, 256):
        got = dec.widened(size).decode(noisy, alternatives=3)
        fresh = BeamDecoder(VOCAB, FRAME_S, lm_path, BeamConfig(beam_size=size)).decode(noisy, alternatives=3)
        assert [h.text for h in [got, *got.alternatives]] == [h.text for h in [fresh, *fresh.alternatives]]
    assert dec.cfg.beam_size == 64


def test_digits_vocabulary_maps_near_misses_onto_digits():
    dec = BeamDecoder(VOCAB, FRAME_S, None)  # no LM: constraints still work
    digits = Constraint.parse(vocabulary_set="digits")
    assert dec.decode(emissions("fife too nein"), digits).text == "five two nine"
    assert dec.decode(emissions("one"), digits).text == "one"
    assert all(w in digits.vocabulary for w in dec.decode(emissions("hello world", noise=1.0), digits).text.split())


def test_phrases_come_out_whole(lm_path):
    dec = BeamDecoder(VOCAB, FRAME_S, lm_path)
    commands = Constraint.parse(phrases=["turn on the lights", "turn off the lights", "play music"])
    assert dec.decode(emissions("turn of the light"), commands).text == "turn off the lights"
    assert dec.decode(emissions("plai musik"), commands).text == "play music"
    assert dec.decode(emissions("turn on the lights")).text != "turn on the lights"  # open vocabulary: no "lights"


def test_constraint_validation_says_what_is_wrong():
    with pytest.raises(ValueError, match="spell numbers out"):
        Constraint.parse(vocabulary=["call", "911"])
    with pytest.raises(ValueError, match="not both"):
        Constraint.parse(vocabulary=["yes"], phrases=["no"])
    with pytest.raises(ValueError, match="unknown vocabulary set 'nope'"):
        Constraint.parse(vocabulary_set="nope")
    assert not Constraint.parse(vocabulary=["  "], phrases=[""])
    assert Constraint.parse(vocabulary=["Yes", "yes", "NO"]).vocabulary == ("no", "yes")


def test_shared_decoder_is_safe_across_threads(lm_path):
    dec = BeamDecoder(VOCAB, FRAME_S, lm_path)
    digits = Constraint.parse(vocabulary_set="digits")
    cases = [("the cat sat on the mat", None, "the cat sat on the mat"), ("fife too", digits, "five two")]
    errors = []

    def work(i):
        text, c, want = cases[i % 2]
        for _ in range(20):
            got = dec.decode(emissions(text), c).text
            if got != want:
                errors.append((text, got))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_streamed_finals_equal_offline_finals_under_beam_search(lm_path):
    model = untrained_model("wavenet-cpu")
    rec = Recogniser(model, max_streams=2, beam=BeamDecoder.for_model(model.cfg, lm_path))
    audio = np.random.default_rng(0).standard_normal(16000 * 3).astype(np.float32) * 0.1
    digits = Constraint.parse(vocabulary_set="digits")
    for constraint in (None, digits):
        offline = rec.transcribe(audio, constraint=constraint)
        streamed = rec.transcribe_streamed(audio, 2560, constraint)
        assert streamed.text == offline.text
        assert [(w.word, round(w.start_s, 3)) for w in streamed.words] == \
               [(w.word, round(w.start_s, 3)) for w in offline.words]


def test_a_constraint_without_a_beam_decoder_is_refused():
    rec = Recogniser(untrained_model("wavenet-cpu"), max_streams=1)
    with pytest.raises(ValueError, match="cannot constrain"):
        rec.open_stream(Constraint.parse(vocabulary_set="digits"))


def test_the_last_word_closes_though_the_model_never_emits_a_separator_after_it():
    """Models trained on text without a trailing space never emit one at the end; an unsure
    (but right) last word must still beat the empty transcript."""
    rows = []
    for ch in "seven":
        r = torch.full((len(VOCAB),), -20.0)
        r[VOCAB.index[ch]], r[0] = -0.4, -1.2  # the letter, only just ahead of blank
        rows += [r, torch.where(torch.arange(len(VOCAB)) == 0, 0.0, -20.0)]
    x = torch.stack(rows)
    assert greedy_transcript(x, VOCAB, FRAME_S).text == "seven"
    hyp = BeamDecoder(VOCAB, FRAME_S, None).decode(x, Constraint.parse(vocabulary_set="digits"))
    assert hyp.text == "seven"
    assert hyp.words[0].end_s <= hyp.end_time_s


@pytest.fixture(scope="module")
def pooled(lm_path):
    """A decoder whose searches run in two worker processes (as the server's do)."""
    dec = BeamDecoder(VOCAB, FRAME_S, lm_path, workers=2)
    yield dec
    dec.close()


def test_searches_in_worker_processes_read_as_in_the_calling_thread(lm_path, pooled):
    """Finals, their word times and runners-up do not depend on where the search runs, and many
    threads can share the workers."""
    local = BeamDecoder(VOCAB, FRAME_S, lm_path)
    digits = Constraint.parse(vocabulary_set="digits")
    cases = [(emissions("the cat sat on the mat", noise=3.0, seed=s), None) for s in range(4)] + \
            [(emissions("fife too nein", noise=1.0, seed=s), digits) for s in range(4)]

    def reading(h):
        return h.text, [(w.word, w.start_s, w.end_s, w.confidence) for w in h.words], h.confidence

    want = [[reading(h) for h in (lambda b: [b, *b.alternatives])(local.decode(x, c, 1.0, 3))] for x, c in cases]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda xc: [reading(h) for h in (lambda b: [b, *b.alternatives])(
            pooled.decode(xc[0], xc[1], 1.0, 3))], cases * 3))
    assert got == want * 3
    assert len({r[0] for w in want for r in w}) > 4  # runners-up included: many readings to get right


def test_a_search_worker_that_dies_is_replaced_and_its_search_run_again(pooled):
    before = pooled.worker_pids()
    assert len(before) == 2
    os.kill(before[0], signal.SIGKILL)
    # Until the pool sees the death, searches may still go to the live worker; then the next one meets
    # the broken pool (or the death mid-search) and runs on new workers. Every search is right meanwhile.
    deadline = time.monotonic() + 30
    while set(pooled.worker_pids()) & set(before):
        assert time.monotonic() < deadline, "the dead worker's pool was never replaced"
        assert pooled.decode(emissions("the cat sat on the mat")).text == "the cat sat on the mat"
        time.sleep(0.05)
    assert len(pooled.worker_pids()) == 2
    assert pooled.decode(emissions("the dog sat on the rug")).text == "the dog sat on the rug"


def test_search_workers_that_cannot_read_the_lm_refuse_to_start(tmp_path):
    bad = tmp_path / "lm.arpa"
    bad.write_text("\\data\\\nngram 1=2\n\n\\1-grams:\n-1.0\tcat\nnot an arpa line\n")
    with pytest.raises(ValueError, match="could not load .*lm.arpa"):
        BeamDecoder(VOCAB, FRAME_S, bad, workers=1)


@pytest.fixture(scope="module")
def cat_or_bat_lm(tmp_path_factory):
    d = tmp_path_factory.mktemp("lm")
    (d / "text.txt").write_text("\n".join(["the cat sat"] * 30 + ["the bat sat", "a bat ran"]) + "\n")
    return build([d / "text.txt"], d / "lm.arpa.gz", order=3, min_count=1)["arpa"]


def test_a_rescored_finals_lm_weight_and_word_score_are_its_own(cat_or_bat_lm):
    """--rescore-lm-weight / --rescore-word-score: the texts the searches propose are weighed again so, and the
    searches themselves are not (the server's defaults: as the searches weigh them)."""
    x = emissions("the bat sat")
    c = 3 * "the bat sat".index("b")
    x[c:c + 2, VOCAB.index["b"]] = 0.0
    x[c:c + 2, VOCAB.index["c"]] = -1.0  # the letters lean to "bat"; the LM knows "cat" better

    def final(**weights):
        dec = BeamDecoder(VOCAB, FRAME_S, cat_or_bat_lm, BeamConfig(**weights))
        return dec.decode_rescored([x, x], [0.65, 0.35], x, alternatives=2)

    assert final().text == "the cat sat" == final(rescore_lm_weight=1.3, rescore_word_score=0.0).text
    heard = final(rescore_lm_weight=0.0)
    assert heard.text == "the bat sat" and heard.alternatives[0].text == "the cat sat"
    # the LM's part is known apart from its weight: a search that does not weigh it still lets the rescoring weigh it
    assert final(lm_weight=0.0).text == "the bat sat"
    assert final(lm_weight=0.0, rescore_lm_weight=1.3).text == "the cat sat"

    # weighed again, a text scores as a search with those weights scores it
    dec = BeamDecoder(VOCAB, FRAME_S, cat_or_bat_lm, BeamConfig(rescore_lm_weight=2.0, rescore_word_score=-1.0))
    searched = {r.text: r for r in dec._searched(x.log_softmax(-1), None, 8)}
    direct = {r.text: r for r in BeamDecoder(VOCAB, FRAME_S, cat_or_bat_lm, BeamConfig(lm_weight=2.0, word_score=-1.0))
              ._searched(x.log_softmax(-1), None, 8)}
    both = searched.keys() & direct.keys()
    assert "the cat sat" in both and "the bat sat" in both
    for text in both:
        assert dec._rescored_language(searched[text], None) == pytest.approx(direct[text].language_score, abs=1e-3)
