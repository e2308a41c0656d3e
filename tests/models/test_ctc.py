import pytest
import torch

from models.ctc import BLANK, GreedyDecoder, Vocabulary, greedy_transcript

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
