"""The streaming contract: for any model config, audio and chunking, concatenated `step`
outputs equal `forward` at every layer and the logits, and greedy transcripts match."""

from dataclasses import replace

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.config import ModelConfig
from models.ctc import Vocabulary, greedy_transcript
from models.recogniser import SpeechRecogniser

TOL = 1e-4


@st.composite
def model_configs(draw):
    family_kernel = draw(st.integers(2, 5))
    return ModelConfig(
        name="prop",
        n_mels=draw(st.sampled_from([16, 24, 40])),
        subsample_channels=draw(st.integers(2, 6)),
        subsample_layers=draw(st.integers(1, 2)),
        d_model=draw(st.sampled_from([8, 12, 16])),
        kernel_size=family_kernel,
        dilations=draw(st.lists(st.sampled_from([1, 2, 3, 4, 8]), min_size=1, max_size=4)),
        separable=draw(st.booleans()),
        lookahead_frames=draw(st.integers(0, 2)),
    )


@st.composite
def chunkings(draw, n_samples):
    """Chunk sizes covering n samples: 1-sample chunks, sizes off the hop and stride, zeros."""
    style = draw(st.sampled_from(["ones", "mixed", "big"]))
    sizes, total = [], 0
    while total < n_samples:
        if style == "ones" and total < 600:
            s = 1
        elif style == "big":
            s = draw(st.integers(1, 8000))
        else:
            s = draw(st.sampled_from([0, 1, 2, 159, 160, 161, 333, 640, 2560]) | st.integers(0, 3000))
        s = min(s, n_samples - total)
        sizes.append(s)
        total += s
    sizes.append(0)  # an empty final chunk
    return sizes


def stream(model, audio, sizes):
    """Run `step` over the chunks; concatenate every tap and the logits."""
    state = model.init_state(1)
    taps_all: dict[str, list] = {}
    pos = 0

    def collect(taps):
        for k, v in taps.items():
            taps_all.setdefault(k, []).append(v[0])

    for s in sizes:
        taps = {}
        out, state = model.step(audio[None, pos:pos + s], None, state, taps=taps)
        assert out.logits.shape[1] == int(out.lengths[0])
        collect(taps)
        pos += s
    taps = {}
    model.flush(state, taps=taps)
    collect(taps)
    return {k: torch.cat(v, dim=0) for k, v in taps_all.items()}, state


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(cfg=model_configs(), seconds=st.floats(0.0, 1.2), seed=st.integers(0, 2**16), data=st.data())
def test_streamed_equals_offline_at_every_layer(cfg, seconds, seed, data):
    torch.manual_seed(seed)
    model = SpeechRecogniser(cfg).eval()
    n = int(seconds * cfg.sample_rate)
    audio = torch.randn(n) * data.draw(st.sampled_from([0.01, 0.3, 1.0]))
    sizes = data.draw(chunkings(n))
    with torch.inference_mode():
        offline_taps = {}
        offline = model(audio[None], taps=offline_taps)
        streamed_taps, _ = stream(model, audio, sizes)
    for name, ref in offline_taps.items():
        ref = ref[0]
        got = streamed_taps.get(name, ref[:0])
        assert got.shape == ref.shape, f"{name}: streamed {tuple(got.shape)} vs offline {tuple(ref.shape)}"
        if ref.numel():
            diff = (got - ref).abs().max().item()
            assert diff <= TOL, f"{name}: max abs diff {diff}"
    vocab = Vocabulary(cfg.vocab)
    frame_s = cfg.frame_ms / 1000
    streamed_logits = streamed_taps.get("logits", offline.logits[0][:0])
    assert greedy_transcript(streamed_logits, vocab, frame_s).text == \
        greedy_transcript(offline.logits[0], vocab, frame_s).text


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=model_configs(), seed=st.integers(0, 2**16))
def test_state_size_does_not_depend_on_stream_length(cfg, seed):
    torch.manual_seed(seed)
    model = SpeechRecogniser(cfg).eval()
    state = model.init_state(1)
    shapes = {k: tuple(v.shape) for k, v in state.items()}
    with torch.inference_mode():
        for seconds in (0.3, 2.0, 5.0):
            _, state = model.step(torch.randn(1, int(seconds * cfg.sample_rate)), None, state)
            assert {k: tuple(v.shape) for k, v in state.items()} == shapes


def test_causal_model_never_looks_ahead():
    """Changing the future must not change any output the stream has already produced."""
    torch.manual_seed(0)
    cfg = ModelConfig(name="c", d_model=16, subsample_channels=4, dilations=[1, 2, 4])
    model = SpeechRecogniser(cfg).eval()
    a = torch.randn(16000)
    b = a.clone()
    b[8000:] = torch.randn(8000)
    with torch.inference_mode():
        la, lb = model(a[None]).logits[0], model(b[None]).logits[0]
    # frames that end before sample 8000 (40 ms frames, first 8000 samples -> 12 whole frames)
    assert torch.equal(la[:12], lb[:12])
    assert not torch.allclose(la[13:], lb[13:])


def test_offline_family_sees_both_sides_and_refuses_to_stream():
    torch.manual_seed(0)
    cfg = ModelConfig(name="o", family="logmel-cnn", d_model=16, subsample_channels=4, dilations=[1, 2])
    model = SpeechRecogniser(cfg).eval()
    a = torch.randn(16000)
    b = a.clone()
    b[8000:] = 0
    with torch.inference_mode():
        la, lb = model(a[None]).logits[0], model(b[None]).logits[0]
    assert la.shape[0] == 16000 // 160 // 4
    assert not torch.allclose(la[:12], lb[:12])  # "same" padding: early frames see later audio
    try:
        model.init_state(1)
    except RuntimeError as e:
        assert "offline-only" in str(e)
    else:
        raise AssertionError("an offline model must not hand out streaming state")


def test_lookahead_latency_is_stated():
    cfg = ModelConfig(lookahead_frames=3)
    assert cfg.lookahead_ms == 120.0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=model_configs(), family=st.sampled_from(["wavenet", "logmel-cnn"]), short_s=st.floats(0.1, 1.0),
       seed=st.integers(0, 2**16))
def test_a_recording_gets_the_same_output_batched_as_alone(cfg, family, short_s, seed):
    """Training batches recordings padded to the longest; each one's valid frames must not see
    that padding, or a model learns ends that it never meets when run alone (the offline family
    reads the future at every layer, the streaming one through its lookahead)."""
    g = torch.Generator().manual_seed(seed)
    cfg = replace(cfg, family=family, lookahead_frames=cfg.lookahead_frames if family == "wavenet" else 0)
    model = SpeechRecogniser(cfg).eval()
    short = torch.randn(int(short_s * 16000), generator=g) * 0.3
    long = torch.randn(24000, generator=g) * 0.3
    batch = torch.zeros(2, long.shape[0])
    batch[0, : short.shape[0]], batch[1] = short, long
    with torch.inference_mode():
        alone = model(short[None]).logits[0]
        out = model(batch, torch.tensor([short.shape[0], long.shape[0]]))
    n = int(out.lengths[0])
    assert n == alone.shape[0]
    assert torch.allclose(out.logits[0, :n], alone, atol=TOL), (out.logits[0, :n] - alone).abs().max()
