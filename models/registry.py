"""Find models by name: a folder `<name>/` holding `config.json` and `model.safetensors`.

Searched in `$WAVESTREAM_MODEL_DIR` (a user's own models, ':'-separated) and then the
weights shipped in this package. Weights load through safetensors only: no pickles.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from .config import BUILTIN_CONFIGS, ModelConfig
from .recogniser import SpeechRecogniser

SHIPPED_DIR = Path(__file__).parent / "weights"
SHIPPED_LM = SHIPPED_DIR / "lm" / "english-3gram.arpa.gz"  # built from SHIPPED_LM_TEXT (`make lm`), not shipped
SHIPPED_LM_TEXT = SHIPPED_DIR / "lm" / "text"


class ModelNotFound(LookupError):
    pass


class ModelLoadError(RuntimeError):
    pass


@dataclass
class ModelInfo:
    name: str
    family: str
    path: Path | None      # None: a built-in size with no trained weights yet
    trained: bool


def search_dirs() -> list[Path]:
    extra = [Path(p) for p in os.environ.get("WAVESTREAM_MODEL_DIR", "").split(":") if p]
    return extra + [SHIPPED_DIR]


def list_models(include_untrained: bool = False) -> list[ModelInfo]:
    found: dict[str, ModelInfo] = {}
    for d in search_dirs():
        if not d.is_dir():
            continue
        for cfg_path in sorted(d.glob("*/config.json")):
            name = cfg_path.parent.name
            if name in found or not (cfg_path.parent / "model.safetensors").exists():
                continue
            try:
                cfg = ModelConfig.load(cfg_path)
            except (ValueError, TypeError, OSError):
                continue
            found[name] = ModelInfo(name, cfg.family, cfg_path.parent, True)
    if include_untrained:
        for name, cfg in BUILTIN_CONFIGS.items():
            found.setdefault(name, ModelInfo(name, cfg.family, None, False))
    return list(found.values())


def save_model(model: SpeechRecogniser, out_dir: str | Path, dtype: torch.dtype | None = None) -> Path:
    """`dtype` (e.g. torch.bfloat16): the parameters stored so, in fewer bytes (loading casts them back
    to float32); buffers such as the feature normalisation stay exact."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(model.cfg.to_json())
    params = {name for name, _ in model.named_parameters()}
    tensors = {k: (v.to(dtype) if dtype is not None and k in params else v).detach().cpu().contiguous()
               for k, v in model.state_dict().items()}
    save_file(tensors, str(out / "model.safetensors"))
    return out


def load_from_dir(path: str | Path) -> SpeechRecogniser:
    path = Path(path)
    try:
        cfg = ModelConfig.load(path / "config.json")
    except (OSError, ValueError, TypeError) as e:
        raise ModelLoadError(f"cannot read model config {path / 'config.json'}: {e}") from e
    model = SpeechRecogniser(cfg)
    try:
        weights = load_file(str(path / "model.safetensors"))
    except Exception as e:  # safetensors raises its own error types for corrupt files
        raise ModelLoadError(f"cannot load weights {path / 'model.safetensors'} (expected a safetensors file): {e}") from e
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as e:
        raise ModelLoadError(f"weights in {path} do not match its config.json: {e}") from e
    return model.eval()


def untrained_model(name: str, seed: int = 0) -> SpeechRecogniser:
    """A randomly initialised model of a shipped size (tests and benchmarks before training)."""
    if name not in BUILTIN_CONFIGS:
        raise ModelNotFound(f"no built-in model size {name!r}; sizes: {sorted(BUILTIN_CONFIGS)}")
    torch.manual_seed(seed)
    return SpeechRecogniser(BUILTIN_CONFIGS[name]).eval()


def load_model(name: str, allow_untrained: bool = False) -> SpeechRecogniser:
    for info in list_models():
        if info.name == name:
            return load_from_dir(info.path)
    if allow_untrained and name in BUILTIN_CONFIGS:
        return untrained_model(name)
    available = [m.name for m in list_models()]
    hint = ""
    if name in BUILTIN_CONFIGS:
        hint = f"; {name!r} is a built-in size with no trained weights yet"
    raise ModelNotFound(f"unknown model {name!r}; trained models available: {available or 'none'}{hint}")


def resolve_lm(spec: str) -> Path | None:
    """--lm: "default" (the shipped word trigram, if present), "none", or an ARPA file (.gz too)."""
    if spec in ("", "none"):
        return None
    if spec == "default":
        if not SHIPPED_LM.exists() and (SHIPPED_LM_TEXT / "build.json").exists():
            # its text ships and the LM is made from it on install: without it finals would quietly be greedy
            raise ModelNotFound("the shipped language model is not built yet: run `make lm` (or `wavestream lm "
                                "--shipped`, about a minute), or give --lm none")
        return SHIPPED_LM if SHIPPED_LM.exists() else None
    path = Path(spec)
    if not path.is_file():
        raise ModelNotFound(f"no language model file {spec!r} (an ARPA file, optionally .gz; or 'default', 'none')")
    return path
