"""A recording of any length through the offline model (Recognize's files): read in blocks from
windows reaching past each block farther than any frame can see, it gives one pass's frames and
final, and the models never run over more than a block and its margins; past the search's limit
(MAX_BEAM_S) its finals are pieces cut where the reader pauses."""

import json
import threading

import jiwer
import numpy as np
import pytest
import torch

import models.engine
from models.audio import read_audio
from models.beam import BeamDecoder
from models.blend import Blend
from models.engine import Recogniser, padded_length, pause_cuts
from models.registry import SHIPPED_LM, load_model

RATE = 16000


@pytest.fixture(scope="module")
def recogniser():
    """The offline model with the streaming one blended in and the shipped LM: the server's default."""
    streaming, offline = load_model("wavenet-cpu"), load_model("logmel-cnn-cpu")
    return Recogniser(offline, beam=BeamDecoder.for_model(offline.cfg, SHIPPED_LM), blend=Blend(streaming))


@pytest.fixture(scope="module")
def speech(shared_data) -> np.ndarray:
    """About 21 s of the real reader: three sentences end to end."""
    clips = ("LJ001-0049", "LJ001-0035", "LJ001-0049")
    return np.concatenate([read_audio(shared_data / "real" / "lj-amateur" / f"{c}.flac", RATE)[0] for c in clips])


def chunked(x: np.ndarray, n: int):
    return (x[i:i + n] for i in range(0, len(x), n))


def test_a_recording_read_in_blocks_reads_as_one_pass(recogniser, speech):
    whole = recogniser.final_readings(speech)  # each model's: the offline one's and its blend's
    assert len(whole) == 2
    # blocks shorter and longer than the margins, chunks that split frames and that hold several blocks
    for block_s, chunk in ((1.5, 4321), (7.3, 10 * RATE), (60.0, RATE)):
        readings, samples = recogniser.final_readings_in_blocks(chunked(speech, chunk), block_s)
        assert samples == len(speech)
        for logits, one_pass in zip(readings, whole, strict=True):
            assert logits.shape == one_pass.shape
            assert torch.allclose(logits, one_pass, atol=1e-5), (block_s, (logits - one_pass).abs().max())
    one_pass = recogniser.transcribe(speech, alternatives=3)
    (final,), samples = recogniser.transcribe_file(chunked(speech, RATE), 2.0, alternatives=3)
    assert final.text == one_pass.text and final.text and samples == len(speech)
    assert [(w.word, w.start_s, w.end_s) for w in final.words] == [(w.word, w.start_s, w.end_s) for w in one_pass.words]
    assert [a.text for a in final.alternatives] == [a.text for a in one_pass.alternatives]


def test_the_models_never_run_over_more_than_a_block_and_its_margins(recogniser):
    block_s, seconds = 2.0, 40
    ran = []
    models = [recogniser.model, recogniser.blend.model]
    hooks = [m.register_forward_pre_hook(lambda _m, args: ran.append(args[0].shape[-1])) for m in models]
    x = (0.05 * torch.randn(seconds * RATE, generator=torch.Generator().manual_seed(0))).numpy()
    try:
        _, samples = recogniser.final_readings_in_blocks(chunked(x, RATE // 2), block_s)
    finally:
        for h in hooks:
            h.remove()
    assert samples == len(x)
    frame = round(recogniser.frame_s * RATE)
    margin = max(m.context_frames() for m in models)
    window = (round(block_s / recogniser.frame_s) + 2 * margin) * frame
    assert len(ran) >= 2 * 10  # both models, block after block
    assert max(ran[:-2]) <= window  # the blocks' windows; the last runs at a padded length
    # the last: the rest (under a block past its left margin) and the end pad, at its padded length
    assert ran[-1] <= padded_length(window + len(recogniser.end_pad), recogniser._min_pad_step) < len(x) / 2


def test_cuts_fall_in_the_longest_pause_of_each_pieces_second_half():
    blank, letter = [9.0] + [0.0] * 28, [0.0, 9.0] + [0.0] * 27
    frames = [letter] * 30 + [blank] * 3 + [letter] * 10 + [blank] * 6 + [letter] * 51  # 100 frames
    logits = torch.tensor(frames)
    assert pause_cuts(logits, 100) == []
    assert pause_cuts(logits, 60) == [46]  # the 6-frame pause (43-48) beats the 3-frame one (30-32)
    assert pause_cuts(logits, 40) == [32, 72]  # in 20-40 the 3-frame pause; 52-72 has none: at its end


@pytest.fixture(scope="module")
def paused_reading(shared_data):
    """Five of the real reader's clips with 1.5 s of silence after each (about 40 s): their rows,
    the samples, and where each gap lies, in seconds."""
    rows = [json.loads(l) for l in (shared_data / "real" / "lj-amateur.jsonl").read_text().splitlines()][:5]
    clips = [read_audio(shared_data / "real" / r["audio"], RATE)[0] for r in rows]
    gap = np.zeros(int(1.5 * RATE), dtype=np.float32)
    x = np.concatenate([part for c in clips for part in (c, gap)])
    ends = np.cumsum([len(c) + len(gap) for c in clips]) / RATE
    return rows, clips, x, [(e - 1.5, e) for e in ends]


def test_a_recording_past_the_searchs_limit_gets_a_final_a_piece_cut_at_pauses(recogniser, paused_reading,
                                                                               monkeypatch):
    rows, clips, x, pauses = paused_reading
    monkeypatch.setattr(models.engine, "MAX_BEAM_S", 12.0)  # so that 40 s of speech needs pieces
    finals, samples = recogniser.transcribe_file(chunked(x, RATE), 600.0)
    assert samples == len(x) and len(finals) >= 3
    for f, g in zip(finals, finals[1:]):  # each piece ends in a pause, and the next starts there
        assert any(a - 0.2 <= f.end_time_s <= b + 0.2 for a, b in pauses), f.end_time_s
        assert f.words[-1].end_s <= f.end_time_s <= g.words[0].start_s
    assert all(f.end_time_s - (f.words[0].start_s if f.words else 0) <= 12.0 for f in finals)
    refs = " ".join(r["text"] for r in rows)
    one_by_one = " ".join(recogniser.transcribe(c).text for c in clips)
    in_pieces = " ".join(f.text for f in finals)
    # no word lost to a cut (a piece reads its clips with the LM's context across them, one by one without:
    # some words differ, as many either way)
    pieces, alone = jiwer.process_words(refs, in_pieces), jiwer.process_words(refs, one_by_one)
    assert pieces.deletions <= alone.deletions + 1
    assert pieces.wer <= alone.wer + 0.05


def test_with_search_workers_the_pieces_are_searched_side_by_side_to_the_same_finals(recogniser, paused_reading,
                                                                                     monkeypatch):
    _, _, x, _ = paused_reading
    monkeypatch.setattr(models.engine, "MAX_BEAM_S", 12.0)
    in_thread, _ = recogniser.transcribe_file(chunked(x, RATE), 600.0, alternatives=2)
    pooled_beam = BeamDecoder.for_model(recogniser.model.cfg, SHIPPED_LM, workers=2)
    try:
        pooled = Recogniser(recogniser.model, beam=pooled_beam, blend=recogniser.blend)
        in_flight, most, lock = 0, 0, threading.Lock()
        decoded = pooled._decoded  # one piece's final: count the pieces being decoded at once

        def counted(*args, **kwargs):
            nonlocal in_flight, most
            with lock:
                in_flight += 1
                most = max(most, in_flight)
            try:
                return decoded(*args, **kwargs)
            finally:
                with lock:
                    in_flight -= 1

        monkeypatch.setattr(pooled, "_decoded", counted)
        side_by_side, _ = pooled.transcribe_file(chunked(x, RATE), 600.0, alternatives=2)
    finally:
        pooled_beam.close()
    # pieces, not just one final's three searches (over the mix and each model's reading), side by side: as many
    # at once as the pool has worker processes
    assert len(in_thread) >= 3 and most == 2
    assert [(f.text, f.end_time_s, [(w.word, w.start_s, w.end_s) for w in f.words], [a.text for a in f.alternatives])
            for f in side_by_side] == \
           [(f.text, f.end_time_s, [(w.word, w.start_s, w.end_s) for w in f.words], [a.text for a in f.alternatives])
            for f in in_thread]


def test_finals_heard_under_warps_average_each_warps_reading_and_read_in_blocks_as_one_pass(speech):
    """Test-time warps (`Recogniser(warps=...)`): each final model's log-probabilities, the mean over the warps;
    a warp of 1 hears the recording as it is; read in blocks, the same frames as one pass."""
    streaming, offline = load_model("wavenet-cpu"), load_model("logmel-cnn-cpu")
    x = speech[:6 * RATE]
    plain = Recogniser(offline, blend=Blend(streaming)).final_readings(x)
    unwarped = Recogniser(offline, blend=Blend(streaming), warps=(1.0,)).final_readings(x)
    low, high = (Recogniser(offline, blend=Blend(streaming), warps=(a,)).final_readings(x) for a in (0.9, 1.1))
    warped = Recogniser(offline, blend=Blend(streaming), warps=(0.9, 1.1))
    both = warped.final_readings(x)
    for got, lo, hi, as_is, one in zip(both, low, high, plain, unwarped, strict=True):
        assert torch.allclose(one, as_is.log_softmax(-1), atol=1e-4), (one - as_is.log_softmax(-1)).abs().max()
        assert torch.allclose(got, (lo + hi) / 2, atol=1e-5)
        assert (lo - as_is.log_softmax(-1)).abs().max() > 0.1  # a warp changes what the model hears
    readings, samples = warped.final_readings_in_blocks(chunked(x, 4321), 1.5)
    assert samples == len(x)
    for blocks, one_pass in zip(readings, both, strict=True):
        assert blocks.shape == one_pass.shape and torch.allclose(blocks, one_pass, atol=1e-5)
    with pytest.raises(ValueError, match="warp factors"):
        Recogniser(offline, warps=(0.3,))
