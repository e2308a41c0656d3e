"""Two models' readings of one recording, mixed frame by frame before the final is decoded.

The offline model and the streaming one make different mistakes, and their CTC outputs share a
vocabulary and a frame rate, so a final can be decoded from a weighted mean of their log-probabilities
(a product of experts). The causal model emits each letter some frames after the offline one (it has
heard the letter only then), so its frames are moved earlier by `delay_frames` before mixing; without
that, their letters' spikes miss each other and the mix reads far worse than either model. How late
it emits depends on what it hears (a word after others: a few frames; a word at the start of a short
clip: hardly at all), so the delay can be matched per recording: the one at which the two readings'
letters (their non-blank probability, frame by frame) overlap most.

Where finals are beam-searched, the mix only proposes: with `rescore` (the default), the texts its
search finds and those each model's own search finds are scored again by each model's exact
probability of the text, weighted by the same shares (models.beam `decode_rescored`). That
probability sums over every alignment of the text, so the two models' timing no longer has to
agree, and a text one model reads well alone is still in the running.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .decoding_defaults import (BLEND_DELAY_FRAMES, BLEND_MAX_DELAY_FRAMES, BLEND_RESCORE, BLEND_RESCORE_BEAM,
                                BLEND_WEIGHT)
from .recogniser import SpeechRecogniser


def check_blend_weight(weight: float, name: str = "blend weight") -> None:
    """A share of the mix is between 0 and 1 (`name`: what the caller calls it, for the message)."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, got {weight:g}")


def check_rescore(texts: int, beam: int = 0, names: tuple[str, str] = ("blend rescore", "blend rescore beam")) -> None:
    """How finals are scored again: the texts each search proposes, 0 (off) or more, and the hypotheses each
    model's own search keeps, 0 (as many as the mix's search) or more (`names`: what the caller calls them)."""
    if texts < 0:
        raise ValueError(f"{names[0]} must be 0 (off) or more texts, got {texts}")
    if beam < 0:
        raise ValueError(f"{names[1]} must be 0 (the mix's beam) or more hypotheses, got {beam}")


@dataclass(frozen=True)
class Blend:
    """The model whose outputs are mixed into a recogniser's finals, and how."""
    model: SpeechRecogniser
    weight: float = BLEND_WEIGHT              # its share of the mix (the recogniser's own: 1 - weight)
    delay_frames: int | None = BLEND_DELAY_FRAMES  # how many frames later it emits a letter; None: matched
                                                   # per recording (matched_delay)
    rescore: int = BLEND_RESCORE  # texts each search proposes to be scored again (0: the mix's search decides)
    rescore_beam: int = BLEND_RESCORE_BEAM  # hypotheses each model's own search keeps (0: as the mix's search)

    def __post_init__(self):
        check_blend_weight(self.weight)
        if self.delay_frames is not None and self.delay_frames < 0:
            raise ValueError(f"blend delay must be 0 or more frames, got {self.delay_frames}")
        check_rescore(self.rescore, self.rescore_beam)

    def check_matches(self, model: SpeechRecogniser) -> None:
        """The two models' frames must line up: the same vocabulary, sample rate and frame rate."""
        a, b = model.cfg, self.model.cfg
        if (a.vocab, a.sample_rate, a.frame_ms) != (b.vocab, b.sample_rate, b.frame_ms):
            raise ValueError(f"cannot blend {b.name!r} into {a.name!r}: they differ in vocabulary, sample rate "
                             f"or frame rate")


def matched_delay(own: Tensor, other: Tensor, max_frames: int = BLEND_MAX_DELAY_FRAMES) -> int:
    """own, other: [T, vocab] logits of one recording (blank first) -> the delay, 0 to max_frames, at
    which other's letters overlap own's most: the sum over frames of the two models' probabilities of
    the same letter (the first of equal delays)."""
    frames = min(len(own), len(other))
    if frames < 2:
        return 0
    a = own[:frames].float().softmax(-1)[:, 1:]
    b = other[:frames].float().softmax(-1)[:, 1:]
    overlap = [(a[:frames - d] * b[d:]).sum() for d in range(min(max_frames, frames - 1) + 1)]
    return int(torch.stack(overlap).argmax())


def blend_log_probs(own: Tensor, other: Tensor, weight: float, delay_frames: int | None) -> Tensor:
    """own, other: [T, vocab] logits of one recording from two models (other emitting `delay_frames`
    later; None: matched_delay) -> [T, vocab] mixed log-probabilities, (1 - weight) * own + weight *
    other moved earlier."""
    frames = min(len(own), len(other))  # equal for models of one frame rate; kept safe for the odd frame
    if delay_frames is None:
        delay_frames = matched_delay(own, other)
    own = own[:frames].float().log_softmax(-1)
    other = other[:frames].float().log_softmax(-1)
    if delay_frames and frames:
        # the last frames have nothing later to take from: they keep the other model's last frame
        # (the end pad's silence by then)
        d = min(delay_frames, frames)
        other = torch.cat([other[d:], other[-1:].expand(d, -1)])
    return (1 - weight) * own + weight * other
