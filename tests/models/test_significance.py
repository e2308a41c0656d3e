import jiwer
import numpy as np
import pytest

from models.significance import paired_bootstrap, word_errors


def test_word_errors_count_as_the_wer_does():
    pairs = [("the cat sat on the mat", "the cat sat mat"), ("one two", "one two three"), ("go", ""), ("a b", "a b")]
    for ref, hyp in pairs:
        assert word_errors(ref, hyp) == round(jiwer.wer(ref, hyp) * len(ref.split()))


def test_the_same_readings_are_never_better():
    rng = np.random.default_rng(1)
    words = rng.integers(3, 20, 100)
    errors = rng.integers(0, 3, 100)
    r = paired_bootstrap(errors, errors, words)
    assert r["delta"] == 0 and r["delta_ci95"] == [0.0, 0.0] and r["p_b_better"] == 0.0


def test_a_reading_better_on_most_utterances_is_shown_better_and_the_reverse_is_not():
    rng = np.random.default_rng(2)
    words = rng.integers(5, 15, 120)
    a = rng.integers(1, 5, 120)
    b = np.maximum(a - rng.integers(0, 2, 120), 0)  # one word fewer wrong on about half the utterances
    better = paired_bootstrap(a, b, words)
    assert better["p_b_better"] > 0.99 and better["delta_ci95"][1] < 0 and better["delta"] < 0
    worse = paired_bootstrap(b, a, words)
    assert worse["p_b_better"] < 0.01 and worse["delta"] == pytest.approx(-better["delta"])


def test_one_word_among_many_is_noise():
    # one utterance in 100 read one word better: the draws that leave it out (about 37%) tie
    words, a = np.full(100, 10), np.full(100, 4)
    b = a.copy()
    b[7] -= 1
    r = paired_bootstrap(a, b, words)
    assert r["delta"] == pytest.approx(-1 / 1000)
    assert 0.55 < r["p_b_better"] < 0.72 and r["delta_ci95"][1] == 0.0


def test_the_draws_are_seeded():
    words, a, b = [5, 6, 7, 8], [1, 2, 0, 3], [0, 2, 1, 1]
    assert paired_bootstrap(a, b, words, seed=3) == paired_bootstrap(a, b, words, seed=3)
    assert paired_bootstrap(a, b, words, resamples=2500)["resamples"] == 2500


@pytest.mark.parametrize("a, b, words", [([], [], []), ([1, 2], [1], [3, 3]), ([0], [0], [0])])
def test_bad_counts_are_refused(a, b, words):
    with pytest.raises(ValueError):
        paired_bootstrap(a, b, words)
