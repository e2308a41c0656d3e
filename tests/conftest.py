import os
from pathlib import Path

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
