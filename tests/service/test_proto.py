"""The generated modules are exactly what the proto produces."""

from pathlib import Path

from protos.generate import generate

ROOT = Path(__file__).resolve().parents[2]


def test_generated_code_matches_the_proto(tmp_path):
    generate(tmp_path)
    for name in ("speech_pb2.py", "speech_pb2_grpc.py", "speech_pb2.pyi"):
        fresh = (tmp_path / "protos" / "wavestream" / "v1" / name).read_text()
        shipped = (ROOT / "protos" / "wavestream" / "v1" / name).read_text()
        assert fresh == shipped, f"{name} is stale: run `python -m protos.generate`"
