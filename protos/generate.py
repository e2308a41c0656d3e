"""Regenerate the Python modules from the proto: `python -m protos.generate [OUT_DIR]`."""

import sys
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO = "protos/wavestream/v1/speech.proto"


def generate(out_dir: Path = ROOT) -> None:
    include = Path(protoc.__file__).parent / "_proto"
    rc = protoc.main(["grpc_tools.protoc", f"-I{ROOT}", f"-I{include}", f"--python_out={out_dir}",
                      f"--grpc_python_out={out_dir}", f"--pyi_out={out_dir}", str(ROOT / PROTO)])
    if rc != 0:
        raise SystemExit(f"protoc failed ({rc})")


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT)
