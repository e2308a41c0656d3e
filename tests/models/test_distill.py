"""Teacher-student training: the divergence, the delay between a causal student and its teacher, and
`wavestream train --teacher` end to end on the tiny preset."""

import json
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from models.distill import Teacher, measure_delay
from models.audio import read_audio
from models.data import read_manifest
from models.registry import load_model, untrained_model
from models.train import train


def _log_probs(b, t, v, seed):
    return torch.randn(b, t, v, generator=torch.Generator().manual_seed(seed)).log_softmax(-1)


def test_the_divergence_is_zero_where_the_student_is_the_teacher_delayed():
    teacher = Teacher(untrained_model("wavenet-cpu"), delay=2)
    t = _log_probs(2, 10, 29, 0)
    lengths = torch.tensor([10, 7])
    late = F.pad(t, (0, 0, 2, 0))[:, :10]  # the teacher's frames two later
    late[:, :2] = _log_probs(2, 2, 29, 1)  # before the delay nothing is taught: any reading will do
    assert teacher.divergence(late, lengths, t, lengths).abs() < 1e-6
    assert teacher.divergence(t, lengths, t, lengths) > 0.1  # on time is not what it is taught
    # frames past an entry's length are not taught either
    late[1, 7:] = _log_probs(1, 3, 29, 2)
    assert teacher.divergence(late, lengths, t, lengths).abs() < 1e-6
    assert Teacher(untrained_model("wavenet-cpu"), delay=0).divergence(t, lengths, t, lengths).abs() < 1e-6


def test_the_delay_is_where_the_two_models_letters_line_up(shared_data):
    """A student that emits its teacher's letters three frames late measures as three frames behind; the
    shipped streaming model measures behind the shipped offline one (it hears a letter before it emits it)."""
    teacher = load_model("logmel-cnn-cpu")

    class Late(torch.nn.Module):
        def forward(self, audio):
            logits = teacher(audio).logits
            return SimpleNamespace(logits=F.pad(logits, (0, 0, 3, 0))[:, :logits.shape[1]])

    late = Late()
    late.dummy = torch.nn.Parameter(torch.zeros(1))  # a device to read, as a model has
    rows = read_manifest(shared_data / "real" / "lj-amateur.jsonl")[:3]
    audio = [torch.from_numpy(read_audio(u.audio, 16000)[0]) for u in rows]
    with torch.inference_mode():
        delay, scores = measure_delay(teacher, late, audio, max_delay=6)
        assert delay == 3 and scores[3] > max(v for d, v in scores.items() if d != 3)
        shipped, _ = measure_delay(teacher, load_model("wavenet-cpu"), audio, max_delay=6)
    assert shipped >= 2  # its lookahead is 2 frames; it answers later still


def test_a_teacher_must_share_the_students_frames_and_letters():
    from dataclasses import replace

    from models.config import STREAMING_CPU
    from models.recogniser import SpeechRecogniser

    teacher = Teacher(untrained_model("logmel-cnn-cpu"))
    teacher.check_student(untrained_model("wavenet-cpu"))
    with pytest.raises(ValueError, match="frame rate"):
        teacher.check_student(SpeechRecogniser(replace(STREAMING_CPU, subsample_layers=1)))


def test_train_with_a_teacher_learns_and_records_it(digits_manifest, tmp_path):
    spec = [(str(digits_manifest), 1.0)]
    train("tiny", spec, tmp_path / "teacher", steps=10, progress=False)
    taught = train("tiny", spec, tmp_path / "student", steps=30, progress=False, name="tiny-student",
                   init_from=tmp_path / "teacher", teacher=str(tmp_path / "teacher" / "wavenet-tiny"),
                   distill_weight=0.5, distill_delay=1)
    assert taught["teacher"] == {"model": "wavenet-tiny", "weight": 0.5, "delay": 1}
    assert all(map(torch.isfinite, map(torch.tensor, taught["loss"])))
    assert sum(taught["loss"][-5:]) < sum(taught["loss"][:5])
    # the delay measured on a dev set needs weights to start from: a random student's timing means nothing
    with pytest.raises(ValueError, match="distill-delay"):
        train("tiny", spec, tmp_path / "fresh", steps=2, progress=False, dev_manifest=str(digits_manifest),
              teacher=str(tmp_path / "teacher" / "wavenet-tiny"))
    # the command: measured on the dev set from trained weights, in its summary
    out = subprocess.run([sys.executable, "-m", "clients.cli", "train", "--config", "tiny", "--data",
                          str(digits_manifest), "--dev", str(digits_manifest), "--eval-every", "0", "--steps", "3",
                          "--init-from", str(tmp_path / "teacher"), "--teacher", str(tmp_path / "teacher" / "wavenet-tiny"),
                          "--out", str(tmp_path / "cli"), "--quiet"], capture_output=True, text=True, check=True)
    summary = json.loads(out.stdout)
    assert summary["teacher"]["model"] == "wavenet-tiny" and summary["teacher"]["delay"] == 0  # itself: no delay
    missing = subprocess.run([sys.executable, "-m", "clients.cli", "train", "--config", "tiny", "--data",
                              str(digits_manifest), "--steps", "1", "--teacher", "no-such-model", "--distill-delay", "1",
                              "--out", str(tmp_path / "missing"), "--quiet"], capture_output=True, text=True)
    assert missing.returncode == 1 and "no-such-model" in missing.stderr and "Traceback" not in missing.stderr
