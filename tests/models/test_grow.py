"""Growing a trained model deeper (`train --grow`), or its lookahead wider (`train --lookahead`): the grown
model starts out reading exactly as the weights it grew from, offline and streamed, and what was added
learns from there."""

import json

import pytest
import torch
from safetensors.torch import load_file
from torch.nn.utils.rnn import pad_sequence

from models.audio import read_audio
from models.data import read_manifest
from models.recogniser import deepened, widened_lookahead
from models.registry import load_model
from models.train import train, train_together


@pytest.mark.parametrize("name", ["logmel-cnn-cpu", "wavenet-cpu"])
def test_a_deepened_model_reads_as_the_shipped_one(name, digits_manifest):
    model = load_model(name).eval()
    grown = deepened(model, [1, 2, 4, 8]).eval()
    assert grown.cfg.dilations == model.cfg.dilations + [1, 2, 4, 8] and len(grown.blocks) == len(model.blocks) + 4
    assert sum(p.numel() for p in grown.parameters()) > sum(p.numel() for p in model.parameters())
    audio = pad_sequence([torch.as_tensor(read_audio(u.audio, 16000)[0]) for u in read_manifest(digits_manifest)[:3]],
                         batch_first=True)  # three clips, zeros after the shorter two
    # the same to float rounding, not bit for bit: the skip projection sums over the new blocks' zero columns too,
    # and how a CPU's matrix kernels split a longer sum can move the last bit (a new block that added anything would
    # move the logits by far more)
    with torch.no_grad():
        torch.testing.assert_close(grown(audio).logits, model(audio).logits, rtol=1e-5, atol=1e-4)
        if model.cfg.streaming:  # the ring buffers of the new blocks too: chunk by chunk, the same frames
            states = [model.init_state(3), grown.init_state(3)]
            for chunk in audio.split(2560, dim=1):
                (a, states[0]), (b, states[1]) = model.step(chunk, None, states[0]), grown.step(chunk, None, states[1])
                torch.testing.assert_close(b.logits, a.logits, rtol=1e-5, atol=1e-4)


def test_grown_blocks_train_and_a_resumed_run_is_not_grown_again(digits_manifest, tmp_path):
    spec = [(str(digits_manifest), 1.0)]
    train("tiny", spec, tmp_path / "a", steps=4, progress=False)
    before = load_file(str(tmp_path / "a" / "wavenet-tiny" / "model.safetensors"))
    grown, = train_together(["tiny"], spec, tmp_path / "b", steps=3, init_from=tmp_path / "a", grow=[1, 2],
                            progress=False)
    assert grown["init"] == str(tmp_path / "a" / "wavenet-tiny") and grown["params"] > sum(v.numel() for v in before.values())
    cfg = json.loads((tmp_path / "b" / "wavenet-tiny" / "config.json").read_text())
    assert cfg["dilations"] == [1, 2, 4, 1, 2]
    after = load_file(str(tmp_path / "b" / "wavenet-tiny" / "model.safetensors"))
    old_blocks = len(before["skip.weight"][0]) // cfg["d_model"]
    # started at zero, moved by three steps: the new blocks' skip columns, and the residual projection of
    # the first (the last block's residual output feeds no further block: the head reads the skips)
    assert after["skip.weight"][:, old_blocks * cfg["d_model"]:].abs().sum() > 0
    assert after[f"blocks.{old_blocks}.residual.weight"].abs().sum() > 0
    # going on with the same options resumes the grown weights: no blocks added twice
    again, = train_together(["tiny"], spec, tmp_path / "b", steps=5, init_from=tmp_path / "a", grow=[1, 2],
                            progress=False)
    assert again["start_step"] == 3 and again["steps"] == 5
    assert json.loads((tmp_path / "b" / "wavenet-tiny" / "config.json").read_text())["dilations"] == [1, 2, 4, 1, 2]


def test_grow_needs_weights_to_grow(digits_manifest, tmp_path):
    with pytest.raises(ValueError, match="--grow deepens trained weights"):
        train_together(["tiny"], [(str(digits_manifest), 1.0)], tmp_path, steps=1, grow=[1], progress=False)
    with pytest.raises(ValueError, match="positive"):
        deepened(load_model("wavenet-cpu"), [0])


def test_a_widened_lookahead_reads_as_the_shipped_model_offline_and_streamed_later(digits_manifest):
    model = load_model("wavenet-cpu").eval()
    wide = widened_lookahead(model, model.cfg.lookahead_frames + 4).eval()
    assert wide.cfg.lookahead_frames == model.cfg.lookahead_frames + 4
    audio = pad_sequence([torch.as_tensor(read_audio(u.audio, 16000)[0]) for u in read_manifest(digits_manifest)[:3]],
                         batch_first=True)
    with torch.no_grad():
        assert torch.equal(wide(audio).logits, model(audio).logits)
        # streamed, the same frames, each 4 frames later: the lookahead waits for them
        outs = {}
        for name, m in (("model", model), ("wide", wide)):
            state, frames = m.init_state(3), []
            for chunk in audio.split(2560, dim=1):
                out, state = m.step(chunk, None, state)
                frames.append(out.logits)
            outs[name] = (torch.cat(frames, dim=1), m.flush(state)[0].logits)
        (a, a_end), (b, b_end) = outs["model"], outs["wide"]
        assert b.shape[1] == a.shape[1] - 4
        assert torch.allclose(b, a[:, : b.shape[1]], atol=1e-4)
        assert torch.allclose(torch.cat([b, b_end], 1), torch.cat([a, a_end], 1), atol=1e-4)


def test_a_widened_lookahead_learns_its_new_frames_and_only_widens(digits_manifest, tmp_path):
    spec = [(str(digits_manifest), 1.0)]
    train("tiny", spec, tmp_path / "a", steps=4, progress=False)
    train_together(["tiny"], spec, tmp_path / "b", steps=3, init_from=tmp_path / "a", lookahead=3, progress=False)
    cfg = json.loads((tmp_path / "b" / "wavenet-tiny" / "config.json").read_text())
    assert cfg["lookahead_frames"] == 3
    taps = load_file(str(tmp_path / "b" / "wavenet-tiny" / "model.safetensors"))["lookahead.conv.depthwise.weight"]
    assert taps[-1].abs().sum() > 0  # the farthest frame's tap: zero at the start, moved by three steps
    with pytest.raises(ValueError, match="can only widen"):
        widened_lookahead(load_model("wavenet-cpu"), 1)
    with pytest.raises(ValueError, match="streaming family"):
        widened_lookahead(load_model("logmel-cnn-cpu"), 4)
    with pytest.raises(ValueError, match="--lookahead widens trained weights"):
        train_together(["tiny"], spec, tmp_path / "c", steps=1, lookahead=2, progress=False)
