import pytest
import torch

from models.ctc import BLANK, CtcTexts, GreedyDecoder, Vocabulary, greedy_transcript

VOCAB = Vocabulary(" 'abcdefghijklmnopqrstuvwxyz")


def logits_for(tokens: str) -> torch.Tensor:
    """One frame per symbol: '_' is blank, anything else its character."""
    ids = [BLANK if c == "_" else VOCAB.index[c] for c in tokens]
    out = torch.full((len(ids), len(VOCAB)), -10.0)
    out[torch.arange(len(ids)), torch.tensor(ids, dtype=torch.long)] = 10.0
    return out


def test_greedy_collapses_repeats_and_blanks_with_word_times():
    hyp = greedy_transcript(logits_for("_hh_i__ _yyo_o_"), VOCAB, frame_s=0.04)
    assert hyp.text == "hi yoo"
    hi, yoo = hyp.words
    assert (hi.word, hi.start_s, hi.end_s) == ("hi", pytest.approx(0.04), pytest.approx(0.20))
    assert (yoo.word, yoo.start_s, yoo.end_s) == ("yoo", pytest.approx(0.36), pytest.approx(0.56))
    assert 0.99 < hyp.confidence <= 1.0


def test_incremental_decoding_equals_one_shot_for_any_split():
    seq = "__tt_h_e  _c_aa_t___"
    whole = greedy_transcript(logits_for(seq), VOCAB, 0.04)
    for split in range(len(seq) + 1):
        dec = GreedyDecoder(VOCAB, 0.04)
        dec.accept(logits_for(seq[:split]))
        dec.accept(logits_for(seq[split:]))
        hyp = dec.hypothesis(True)
        assert hyp.text == whole.text == "the cat"
        assert [(w.start_s, w.end_s) for w in hyp.words] == [(w.start_s, w.end_s) for w in whole.words]


def test_trailing_blank_frames_measures_silence_after_text():
    dec = GreedyDecoder(VOCAB, 0.04)
    dec.accept(logits_for("__a____"))
    assert dec.trailing_blank_frames() == 4


def test_vocabulary_rejects_unknown_characters():
    with pytest.raises(ValueError, match="outside the vocabulary"):
        VOCAB.encode("hello!")
    assert VOCAB.encode("a b") == [3, 1, 4]


def test_a_texts_probability_is_ctcs_sum_over_its_alignments():
    # against PyTorch's CTC loss in float64: texts with repeated letters (a blank must come between),
    # an empty text (all blanks), a text too long for its frames (impossible), one frame, long ones
    torch.manual_seed(0)
    for frames, texts in ((40, [[1, 1, 2], [3], [], [2, 2, 2, 2]]), (3, [[1, 1, 2], [1, 2], [4]]), (1, [[5], []]),
                          (400, [list(range(1, 29)) * 5, [1, 2] * 100, [7] * 250])):
        log_probs = torch.randn(frames, 29).log_softmax(-1)
        lengths = torch.tensor([len(t) for t in texts])
        targets = torch.tensor([c for t in texts for c in t], dtype=torch.long)
        expected = -torch.nn.functional.ctc_loss(log_probs[:, None].double().expand(frames, len(texts), -1), targets,
                                                 torch.full((len(texts),), frames), lengths, reduction="none")
        got = CtcTexts.of(targets, lengths).log_likelihoods(log_probs)
        assert torch.equal(torch.isinf(got), torch.isinf(expected))
        finite = torch.isfinite(expected)
        assert torch.allclose(got[finite], expected[finite], rtol=1e-6, atol=1e-4)
    assert (frames, torch.isinf(got).tolist()) == (400, [False, False, True])  # 250 of one letter need 499 frames
    nothing = torch.zeros(0, dtype=torch.long)
    assert len(CtcTexts.of(nothing, nothing).log_likelihoods(log_probs)) == 0


def test_a_text_far_less_likely_than_every_frame_says_keeps_a_finite_probability():
    # a peaky model sure of the blank at every frame: another sentence's letters are each e^-60 less likely, far
    # below what probabilities (not logs) can hold over a few frames, yet the text is possible: a finite score
    frames = 200
    logits = torch.full((frames, 29), -60.0)
    logits[:, 0] = 0.0
    log_probs = logits.log_softmax(-1)
    texts = [[3, 4, 5] * 20, [7]]
    lengths = torch.tensor([len(t) for t in texts])
    targets = torch.tensor([c for t in texts for c in t], dtype=torch.long)
    expected = -torch.nn.functional.ctc_loss(log_probs[:, None].double().expand(frames, 2, -1), targets,
                                             torch.full((2,), frames), lengths, reduction="none")
    got = CtcTexts.of(targets, lengths).log_likelihoods(log_probs)
    assert torch.isfinite(got).all() and torch.allclose(got, expected, rtol=1e-6)
