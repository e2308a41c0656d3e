import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"

# Tests run on the CPU with few threads so two of them can share this 2-core machine.
torch.set_num_threads(int(os.environ.get("WAVESTREAM_TEST_THREADS", "1")))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not beside the project")
    return SHARED_DATA


@pytest.fixture(scope="session")
def lj_clip(shared_data) -> Path:
    return shared_data / "real" / "lj-amateur" / "LJ001-0035.flac"


# Real reader's sentences for tests that need the shipped models to read one two ways (blended or not, ...). Which
# sentences they read so changes with every ship (LJ001-0049 did until the fifty-eighth phase), so such a test looks
# for one among these (`lj_sentence`) rather than naming it.
LJ_CANDIDATES = ["LJ001-0054", "LJ001-0049", "LJ001-0058", "LJ001-0064", "LJ001-0066", "LJ001-0073"]


def lj_sentence(shared_data: Path, read_otherwise, what: str) -> tuple[dict, np.ndarray]:
    """The first of LJ_CANDIDATES for which `read_otherwise(audio)` (16 kHz samples) holds: its manifest row (the
    audio's path made absolute) and its samples; the test fails, saying `what` it needed, where none does."""
    from models.audio import read_audio

    manifest = shared_data / "real" / "lj-amateur.jsonl"
    rows = {Path(r["audio"]).stem: r for r in map(json.loads, manifest.open())}
    for name in LJ_CANDIDATES:
        row = {**rows[name], "audio": str(manifest.parent / rows[name]["audio"])}
        audio = read_audio(row["audio"], 16000)[0]
        if read_otherwise(audio):
            return row, audio
    pytest.fail(f"the shipped models read none of {LJ_CANDIDATES} {what}: add sentences that they do")
