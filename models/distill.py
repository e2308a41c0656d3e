"""Teacher-student training: a trained model's frame posteriors as soft targets beside CTC.

The offline model reads real speakers better than the streaming one, and it sees both sides of
every frame. Its posteriors tell the student which letters the audio holds frame by frame (and how
sure of them to be), where CTC's targets are one spelling with no timing. A causal student cannot
emit a letter before it has heard it, so it is taught the teacher's frames `delay` frames late:
student frame j against teacher frame j - delay (`measure_delay` finds where the two models' letter
spikes line up). The teacher reads the same augmented audio, without SpecAugment's masks.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from .recogniser import SpeechRecogniser


@dataclass
class Teacher:
    model: SpeechRecogniser  # frozen, eval mode
    weight: float = 1.0      # of the divergence, beside the CTC loss
    delay: int = 0           # student frame j learns teacher frame j - delay

    def __post_init__(self):
        self.model.eval().requires_grad_(False)

    def check_student(self, student: SpeechRecogniser) -> None:
        t, s = self.model.cfg, student.cfg
        if (t.vocab, t.sample_rate, t.frame_ms, t.n_mels) != (s.vocab, s.sample_rate, s.frame_ms, s.n_mels):
            raise ValueError(f"teacher {t.name!r} and student {s.name!r} need the same vocabulary, sample rate, "
                             "mel bins and frame rate")

    @torch.no_grad()
    def log_probs(self, audio: Tensor, lengths: Tensor | None, mel_fb: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """[B, T, V] log posteriors of the teacher on the batch's audio, and their lengths."""
        feats, feat_lengths = self.model.frontend(audio, lengths, mel_fb=mel_fb)
        out = self.model.forward_features(feats, feat_lengths)
        return out.logits.float().log_softmax(-1), out.lengths

    def divergence(self, student: Tensor, student_lengths: Tensor, teacher: Tensor, teacher_lengths: Tensor) -> Tensor:
        """Mean over the frames both cover of KL(teacher || student), the teacher `delay` frames earlier.
        student, teacher: [B, T, V] log posteriors."""
        d = self.delay
        shifted = F.pad(teacher, (0, 0, d, 0))  # teacher frame j - d at frame j
        n = min(student.shape[1], shifted.shape[1])
        student, shifted = student[:, :n], shifted[:, :n]
        j = torch.arange(n, device=student.device)
        valid = ((j >= d) & (j[None, :] < student_lengths.to(student.device)[:, None])
                 & (j[None, :] < teacher_lengths.to(student.device)[:, None] + d))
        kl = (shifted.exp() * (shifted - student)).sum(-1)  # [B, n]
        return (kl * valid).sum() / valid.sum().clamp_min(1)


@torch.no_grad()
def measure_delay(teacher: SpeechRecogniser, student: SpeechRecogniser, recordings: list[Tensor],
                  max_delay: int = 8) -> tuple[int, dict[int, float]]:
    """The shift (in frames) at which the student's letter posteriors best match the teacher's: for
    each d, the summed agreement sum_v p_t[j, v] p_s[j + d, v] over frames where either model emits a
    letter. Returns the best d and every d's score."""
    scores = {d: 0.0 for d in range(0, max_delay + 1)}
    device = next(student.parameters()).device
    for audio in recordings:
        audio = audio.to(device)
        pt = teacher(audio[None]).logits[0].softmax(-1)
        ps = student(audio[None]).logits[0].softmax(-1)
        n = min(len(pt), len(ps))
        for d in scores:
            if n - d <= 0:
                continue
            a, b = pt[:n - d], ps[d:n]
            letters = (a.argmax(-1) != 0) | (b.argmax(-1) != 0)
            scores[d] += float((a * b).sum(-1)[letters].sum())
    return max(scores, key=scores.get), scores
