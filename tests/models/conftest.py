"""Fixtures of the model tests."""

import json

import pytest


@pytest.fixture
def digits_manifest(shared_data, tmp_path):
    """16 of george's digits (zero to three), as a manifest of its own."""
    src = shared_data / "real" / "fsdd.jsonl"
    rows = [json.loads(l) for l in src.read_text().splitlines()]
    keep = [r for r in rows if r["speaker"] == "george" and r["text"] in ("zero", "one", "two", "three")][:16]
    path = tmp_path / "digits.jsonl"
    path.write_text("".join(json.dumps({**r, "audio": str(src.parent / r["audio"])}) + "\n" for r in keep))
    return path
