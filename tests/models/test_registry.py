import pickle

import numpy as np
import pytest
import torch

from models.config import ModelConfig
from models.engine import Recogniser
from models.recogniser import SpeechRecogniser
from models.registry import ModelLoadError, ModelNotFound, list_models, load_model, save_model


def test_save_and_load_by_name_round_trips(tmp_path, monkeypatch):
    torch.manual_seed(0)
    model = SpeechRecogniser(ModelConfig(name="mine", d_model=16, subsample_channels=4, dilations=[1, 2]))
    model.frontend.set_normalisation(torch.full((80,), -3.0), torch.full((80,), 2.0))
    save_model(model, tmp_path / "mine")
    monkeypatch.setenv("WAVESTREAM_MODEL_DIR", str(tmp_path))
    assert "mine" in [m.name for m in list_models()]
    loaded = load_model("mine")
    assert torch.equal(loaded.frontend.mean, model.frontend.mean)
    audio = np.random.default_rng(0).standard_normal(16000).astype(np.float32)
    assert Recogniser(loaded).transcribe(audio).text == Recogniser(model.eval()).transcribe(audio).text


def test_a_pickle_in_place_of_weights_is_refused(tmp_path, monkeypatch):
    model = SpeechRecogniser(ModelConfig(name="evil", d_model=16, subsample_channels=4, dilations=[1]))
    save_model(model, tmp_path / "evil")

    class Boom:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    (tmp_path / "evil" / "model.safetensors").write_bytes(pickle.dumps({"w": Boom()}))
    monkeypatch.setenv("WAVESTREAM_MODEL_DIR", str(tmp_path))
    with pytest.raises(ModelLoadError, match="safetensors"):
        load_model("evil")
    assert not (tmp_path / "pwned").exists()


def test_unknown_model_names_what_exists():
    with pytest.raises(ModelNotFound, match="unknown model 'nope'"):
        load_model("nope")


def test_builtin_size_without_weights_needs_explicit_consent():
    if any(m.name == "wavenet-base" for m in list_models()):
        pytest.skip("trained weights are shipped")
    with pytest.raises(ModelNotFound, match="no trained weights"):
        load_model("wavenet-base")
    assert load_model("wavenet-base", allow_untrained=True).cfg.name == "wavenet-base"


def test_weights_saved_in_bf16_take_half_the_bytes_and_load_as_float32(tmp_path, monkeypatch):
    # what a later training lease carries to start from: the same model, rounded to bf16
    torch.manual_seed(0)
    model = SpeechRecogniser(ModelConfig(name="half", d_model=32, subsample_channels=8, dilations=[1, 2, 4])).eval()
    model.frontend.set_normalisation(torch.linspace(-5.0, -1.0, 80), torch.linspace(1.0, 3.0, 80))
    save_model(model, tmp_path / "full")
    save_model(model, tmp_path / "half", dtype=torch.bfloat16)
    full, half = (tmp_path / d / "model.safetensors" for d in ("full", "half"))
    assert half.stat().st_size < 0.6 * full.stat().st_size
    monkeypatch.setenv("WAVESTREAM_MODEL_DIR", str(tmp_path))
    loaded = load_model("half")
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    assert torch.equal(loaded.frontend.mean, model.frontend.mean)  # buffers stay exact
    assert torch.equal(loaded.frontend.std, model.frontend.std)
    audio = torch.from_numpy(np.random.default_rng(1).standard_normal(16000).astype(np.float32))
    with torch.no_grad():
        a, b = model(audio[None]).logits, loaded(audio[None]).logits
    assert not torch.equal(a, b) and torch.allclose(a, b, atol=0.05, rtol=0.05)
