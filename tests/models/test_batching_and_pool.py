"""Many streams in one batched step over state slots."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.config import ModelConfig
from models.engine import Recogniser
from models.recogniser import SpeechRecogniser
from models.state_pool import PoolFull

SMALL = ModelConfig(name="small", d_model=16, subsample_channels=4, dilations=[1, 2, 4, 8], lookahead_frames=1)


def small_recogniser(slots=8, seed=0):
    torch.manual_seed(seed)
    return Recogniser(SpeechRecogniser(SMALL), max_streams=slots)


def embeddings_alone(rec, audio, chunk):
    s = rec.open_stream()
    outs = [rec.step([(s, audio[i:i + chunk])])[0].embeddings for i in range(0, len(audio), chunk)]
    s.close()
    return torch.cat(outs)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 1000), n_streams=st.integers(2, 6), data=st.data())
def test_batched_step_equals_each_stream_alone(seed, n_streams, data):
    rec = small_recogniser(slots=8)
    rng = np.random.default_rng(seed)
    audios = [rng.standard_normal(int(rng.integers(1600, 12000))).astype(np.float32) * 0.2 for _ in range(n_streams)]
    streams = [rec.open_stream() for _ in audios]
    pos = [0] * n_streams
    got = [[] for _ in audios]
    while any(p < len(a) for p, a in zip(pos, audios)):
        # a random subset of streams, each with its own chunk length, in one step
        items, idx = [], []
        for i, (a, p) in enumerate(zip(audios, pos)):
            if p < len(a) and data.draw(st.booleans()):
                n = data.draw(st.integers(0, 3000))
                items.append((streams[i], a[p:p + n]))
                idx.append(i)
                pos[i] += n
        if not items:  # always make progress
            i = next(i for i, (a, p) in enumerate(zip(audios, pos)) if p < len(a))
            items, idx = [(streams[i], audios[i][pos[i]:pos[i] + 1000])], [i]
            pos[i] += 1000
        for i, r in zip(idx, rec.step(items)):
            got[i].append(r.embeddings)
    finals = [s.finish().text for s in streams]
    for i, a in enumerate(audios):
        alone = small_recogniser(slots=1, seed=0)
        ref = embeddings_alone(alone, a, 777)
        mine = torch.cat(got[i]) if got[i] else ref[:0]
        # the lookahead's last frame only arrives at finish(); compare what both have
        n = min(len(mine), len(ref))
        assert n >= len(ref) - SMALL.lookahead_frames
        assert (mine[:n] - ref[:n]).abs().max().item() <= 1e-4
        assert finals[i] == alone.transcribe(a).text
    assert rec.pool.in_use == 0


def test_reused_slot_behaves_like_a_fresh_one():
    rec = small_recogniser(slots=1)
    rng = np.random.default_rng(1)
    first, second = (rng.standard_normal(8000).astype(np.float32) for _ in range(2))
    with rec.open_stream() as s:
        s.accept(first)
        slot = s.slot
    fresh = small_recogniser(slots=1)
    s2 = rec.open_stream()
    assert s2.slot == slot
    initial = rec.model.init_state(1)
    assert all(torch.equal(t[slot], initial[k][0]) for k, t in rec.pool.tensors.items())
    a = rec.step([(s2, second)])[0].embeddings
    f = fresh.open_stream()
    b = fresh.step([(f, second)])[0].embeddings
    assert torch.equal(a, b)


def test_pool_full_is_an_error_and_release_frees():
    rec = small_recogniser(slots=2)
    a, b = rec.open_stream(), rec.open_stream()
    with pytest.raises(PoolFull, match="2 stream slots"):
        rec.open_stream()
    a.close()
    c = rec.open_stream()
    assert rec.active_streams == 2
    b.close(), c.close()
    assert rec.active_streams == 0


def test_streamed_final_equals_offline_transcript_and_has_word_times():
    rec = small_recogniser(slots=1)
    audio = np.random.default_rng(2).standard_normal(32000).astype(np.float32) * 0.3
    s = rec.open_stream()
    for i in range(0, len(audio), 2560):
        partial = s.accept(audio[i:i + 2560])
        assert not partial.is_final
    final = s.finish()
    assert final.is_final and final.text == rec.transcribe(audio).text
    for w in final.words:
        assert 0 <= w.start_s < w.end_s <= 2.0 + 1e-6
    assert final.end_time_s == pytest.approx(2.0)


def test_a_recording_streamed_whole_reads_as_offline_and_a_failed_step_frees_its_slot():
    """`transcribe_streamed` (eval --streaming, the streaming check): the final of a live stream fed
    the whole recording; a step that raises leaves the slot free for the next recording."""
    rec = small_recogniser(slots=1)
    audio = np.random.default_rng(3).standard_normal(24000).astype(np.float32) * 0.3
    assert rec.transcribe_streamed(audio, 2560).text == rec.transcribe(audio).text

    def failing_step(*_):
        raise RuntimeError("step failed")
    real_step, rec.model.step = rec.model.step, failing_step
    with pytest.raises(RuntimeError, match="step failed"):
        rec.transcribe_streamed(audio, 2560)
    rec.model.step = real_step
    assert rec.active_streams == 0
    assert rec.transcribe_streamed(audio, 1600).text == rec.transcribe(audio).text


def test_end_utterance_keeps_time_running():
    rec = small_recogniser(slots=1)
    s = rec.open_stream()
    s.accept(np.zeros(16000, dtype=np.float32))
    held_back = SMALL.lookahead_ms / 1000  # frames the lookahead has not yet released
    first = s.end_utterance()
    assert first.is_final and first.end_time_s == pytest.approx(1.0 - held_back)
    nxt = s.accept(np.zeros(9600, dtype=np.float32))  # 0.6 s more: whole 40 ms frames
    assert nxt.end_time_s == pytest.approx(1.6 - held_back)
    s.close()


def test_closing_a_stream_while_its_step_is_in_flight_is_safe():
    """A client that goes away mid-step: the step completes for everyone, the slot is reset
    only after the step wrote it back, and the next stream in that slot starts clean."""
    import threading

    rec = small_recogniser(slots=2)
    rng = np.random.default_rng(3)
    a_audio, b_audio = (rng.standard_normal(4000).astype(np.float32) for _ in range(2))
    a, b = rec.open_stream(), rec.open_stream()
    entered, release = threading.Event(), threading.Event()
    real_step = rec.model.step

    def slow_step(*args, **kw):
        entered.set()
        release.wait(10)
        return real_step(*args, **kw)

    rec.model.step = slow_step
    out = {}
    stepping = threading.Thread(target=lambda: out.setdefault("r", rec.step([(a, a_audio), (b, b_audio)])))
    stepping.start()
    assert entered.wait(10)
    closing = threading.Thread(target=a.close)
    closing.start()
    closing.join(0.2)
    assert closing.is_alive(), "release must wait for the step that holds the slot"
    release.set()
    stepping.join(10)
    closing.join(10)
    rec.model.step = real_step
    assert out["r"][1] is not None and out["r"][0] is not None
    alone = small_recogniser(slots=1)
    s = alone.open_stream()
    assert (out["r"][1].embeddings - alone.step([(s, b_audio)])[0].embeddings).abs().max() <= 1e-4
    # the freed slot holds the initial state, and a stream closed before a step is skipped
    initial = rec.model.init_state(1)
    assert all(torch.equal(t[a.slot], initial[k][0]) for k, t in rec.pool.tensors.items())
    assert rec.step([(a, a_audio), (b, b_audio)])[0] is None


def test_recordings_streamed_together_read_as_each_alone(shared_data):
    """`wavestream eval --streaming --jobs N`: N recordings stepped in one batch, each read as if alone."""
    from concurrent.futures import ThreadPoolExecutor

    from models.audio import read_audio
    from models.batched_streams import BatchedStreams
    from models.evaluate import InProcess
    from models.registry import load_model

    rec = Recogniser(load_model("wavenet-cpu"), max_streams=4)
    fsdd = shared_data / "real" / "fsdd"
    clips = [read_audio(p, 16000)[0] for p in sorted((shared_data / "real" / "lj-amateur").glob("*.flac"))[:2]]
    clips += [read_audio(fsdd / "theo" / f"{d}_theo_1.wav", 16000)[0] for d in range(3)]
    clips += [clips[0][:100], clips[0][:0]]  # shorter than one chunk, and nothing
    one_at_a_time = InProcess(rec, streaming=True, chunk_ms=160)  # eval's
    alone = [one_at_a_time(None, x) for x in clips]
    together = BatchedStreams(rec, 2560)
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(together.transcribe, clips))
    together.close()
    assert got == alone and sum(bool(t) for t in alone) >= 4
    assert rec.active_streams == 0
    with pytest.raises(RuntimeError, match="closed"):
        together.transcribe(clips[2])
