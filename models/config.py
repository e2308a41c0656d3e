"""Model configuration: one dataclass, saved as JSON beside the weights."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

FAMILIES = ("wavenet", "logmel-cnn")


@dataclass
class ModelConfig:
    name: str = "wavenet-base"
    # "wavenet": causal, streams with ring-buffer state. "logmel-cnn": the same blocks
    # with symmetric padding, offline only, more accurate.
    family: str = "wavenet"
    sample_rate: int = 16000
    win_ms: float = 25.0
    hop_ms: float = 10.0
    n_mels: int = 80
    subsample_channels: int = 32
    subsample_layers: int = 2          # each halves the frame rate: 2 layers -> 40 ms frames
    d_model: int = 192
    kernel_size: int = 3
    dilations: list[int] = field(default_factory=lambda: [1, 2, 4, 8, 16, 1, 2, 4, 8, 16])
    separable: bool = True
    # Right context of the streaming model, in encoder frames. Each frame adds
    # frame_ms (hop * 2**subsample_layers, 40 ms by default) of latency.
    lookahead_frames: int = 0
    vocab: str = " 'abcdefghijklmnopqrstuvwxyz"   # index 0 is the CTC blank, then these

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise ValueError(f"family must be one of {FAMILIES}, got {self.family!r}")
        if self.family == "logmel-cnn" and self.lookahead_frames:
            raise ValueError("lookahead_frames applies to the streaming (wavenet) family only")
        self.dilations = list(self.dilations)

    @property
    def padding(self) -> str:
        return "causal" if self.family == "wavenet" else "same"

    @property
    def streaming(self) -> bool:
        return self.family == "wavenet"

    @property
    def frame_ms(self) -> float:
        return self.hop_ms * (2 ** self.subsample_layers)

    @property
    def lookahead_ms(self) -> float:
        return self.lookahead_frames * self.frame_ms

    @property
    def vocab_size(self) -> int:
        return len(self.vocab) + 1

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown model config keys: {sorted(unknown)}")
        return cls(**d)

    @classmethod
    def load(cls, path: str | Path) -> "ModelConfig":
        return cls.from_dict(json.loads(Path(path).read_text()))


# The sizes the project ships. Tests and benchmarks use these shapes.
STREAMING_BASE = ModelConfig()
OFFLINE_BASE = ModelConfig(
    name="logmel-cnn-base", family="logmel-cnn", d_model=256, kernel_size=5,
    dilations=[1, 2, 4, 8, 1, 2, 4, 8, 1, 2, 4, 8],
)
# What ships trained (models/weights/): sized to train on a 2-core CPU (scripts/train-shipped.sh).
# Two frames (80 ms) of lookahead give the streaming model some of the right context that
# symmetric padding gives the offline one.
STREAMING_CPU = ModelConfig(name="wavenet-cpu", d_model=128, subsample_channels=16,
                            dilations=[1, 2, 4, 8, 16, 1, 2, 4, 8, 16], lookahead_frames=2)
OFFLINE_CPU = ModelConfig(name="logmel-cnn-cpu", family="logmel-cnn", d_model=128, kernel_size=5,
                          subsample_channels=16, dilations=[1, 2, 4, 8, 1, 2, 4, 8])
BUILTIN_CONFIGS = {c.name: c for c in (STREAMING_BASE, OFFLINE_BASE, STREAMING_CPU, OFFLINE_CPU)}
