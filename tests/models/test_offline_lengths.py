"""Whole recordings (files, second passes) run at a few padded lengths, not one per recording:
each new length costs the convolution libraries kernels they keep, and a server that saw a
new length with every utterance grew in memory without end. Padding must not change what a
recording reads."""

import random

import torch

from models.engine import Recogniser, padded_length
from models.registry import load_model


def test_recordings_of_two_hundred_lengths_run_at_a_few_and_read_as_alone():
    model = load_model("logmel-cnn-cpu")
    rec = Recogniser(model, max_streams=1)
    ran = []
    hook = model.register_forward_pre_hook(lambda _m, args: ran.append(args[0].shape[-1]))
    rng = random.Random(0)
    lengths = rng.sample(range(800, 8 * 16000), 200)  # 0.05-8 s, all different
    try:
        for n in lengths:
            rec.logits(torch.randn(n) * 0.05)
    finally:
        hook.remove()
    assert len(set(ran)) <= 33 < len(set(lengths))  # 0.25 s steps to 4 s, then 16 an octave

    for n in lengths[:8]:
        x = torch.randn(n, generator=torch.Generator().manual_seed(n)) * 0.05
        padded, _ = rec.logits(x)
        with torch.inference_mode():
            alone = model(x[None]).logits[0]
        assert padded.shape == alone.shape
        assert torch.allclose(padded, alone, atol=1e-4), (padded - alone).abs().max()
        assert padded.argmax(-1).tolist() == alone.argmax(-1).tolist()


def test_padding_wastes_at_most_a_sixteenth_past_the_smallest_step():
    step = 4000
    for n in list(range(1, 200_000, 37)) + [16000 * 600]:
        p = padded_length(n, step)
        assert p >= n and (p - n < step or p - n <= n / 16)
    assert len({padded_length(n, step) for n in range(1, 16000 * 600, 1009)}) < 140  # ten minutes
