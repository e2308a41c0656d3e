"""Which files count as audio: one rule for `wavestream transcribe`'s folders and training's
noise and impulse-response folders."""

import subprocess
import sys

import numpy as np
import soundfile as sf

from models.audio_files import audio_files
from models.data import Augment
from tests.conftest import ROOT


def test_folders_are_listed_by_suffix_case_blind_and_only_files(tmp_path):
    tone = np.zeros(1600, dtype=np.float32)
    sf.write(tmp_path / "a.wav", tone, 16000)
    sf.write(tmp_path / "B.FLAC", tone, 16000)
    sf.write(tmp_path / "c.aiff", tone, 16000)
    (tmp_path / "notes.txt").write_text("not audio")
    (tmp_path / "folder.wav").mkdir()  # a folder, whatever its name
    sf.write(tmp_path / "folder.wav" / "d.ogg", tone, 16000)

    assert [f.name for f in audio_files(tmp_path)] == ["B.FLAC", "a.wav", "c.aiff"]
    assert [f.name for f in audio_files(tmp_path, recursive=True)] == ["B.FLAC", "a.wav", "c.aiff", "d.ogg"]
    aug = Augment.from_dirs(str(tmp_path), None)
    assert [f.name for f in aug.noise_files] == ["B.FLAC", "a.wav", "c.aiff"] and aug.rir_files == []


def test_the_batch_client_lists_folders_without_loading_torch():
    code = "import sys, clients.transcribe; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
