"""The `wavestream` command line."""

from __future__ import annotations

import argparse
import json
import sys

DEFAULT_STREAMING = "wavenet-base"
DEFAULT_OFFLINE = "logmel-cnn-base"


def _load(name: str, untrained: bool):
    from models.registry import ModelLoadError, ModelNotFound, load_model

    try:
        return load_model(name, allow_untrained=untrained)
    except (ModelNotFound, ModelLoadError) as e:
        sys.exit(f"wavestream: {e}")


def cmd_check_streaming(args) -> int:
    from models.audio import AudioError, read_audio
    from models.checks import check_streaming

    model = _load(args.model, args.untrained)
    if not model.cfg.streaming:
        sys.exit(f"wavestream: model {args.model!r} is offline-only; check-streaming needs a streaming model")
    try:
        audio, _ = read_audio(args.audio, model.cfg.sample_rate)
    except (AudioError, OSError) as e:
        sys.exit(f"wavestream: {args.audio}: {e}")
    chunk_ms = [float(x) for x in args.chunk_ms.split(",") if x]
    report = check_streaming(model, audio, chunk_ms)
    report["tolerance"] = 1e-4
    report["ok"] = report["max_abs_diff"] <= 1e-4 and report["transcripts_equal"]
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{report['model']}: {report['duration_s']:.2f} s, offline transcript: {report['offline_transcript']!r}")
        for r in report["chunkings"]:
            print(f"  chunk {r['chunk_ms']:>7g} ms: max |streamed - offline| = {r['max_abs_diff']:.2e}, "
                  f"transcript {'identical' if r['transcripts_equal'] else 'DIFFERS: ' + repr(r['transcript'])}")
        print("OK" if report["ok"] else "MISMATCH")
    return 0 if report["ok"] else 1


def cmd_bench_engine(args) -> int:
    import torch

    from clients import bench_engine

    streaming = _load(args.model, args.untrained)
    offline = _load(args.offline_model, args.untrained) if args.offline_model else None
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() and not args.cpu_only else [])
    report = bench_engine.run(streaming, offline, devices, quick=args.quick)
    report["command"] = " ".join(["wavestream"] + sys.argv[1:])
    print(json.dumps(report, indent=2) if args.json else bench_engine.format_table(report))
    return 0


def cmd_models(args) -> int:
    from models.registry import list_models

    for m in list_models(include_untrained=True):
        print(f"{m.name}\t{m.family}\t{'trained: ' + str(m.path) if m.trained else 'no trained weights'}")
    return 0


def cmd_serve(args) -> int:
    from service.config import ServerConfig
    from service.server import main as serve_main

    return serve_main(ServerConfig.from_args(args))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wavestream", description="Streaming speech recognition.")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("check-streaming", help="prove streamed output equals the offline run on your audio")
    c.add_argument("audio", help="an audio file (wav, flac, ogg, mp3)")
    c.add_argument("--model", default=DEFAULT_STREAMING)
    c.add_argument("--chunk-ms", default="10,37,160,1000", help="comma-separated chunk sizes in ms")
    c.add_argument("--untrained", action="store_true",
                   help="allow a built-in size with seeded random weights when no trained weights exist")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_check_streaming)

    b = sub.add_parser("bench", help="benchmarks")
    bsub = b.add_subparsers(dest="bench", required=True)
    be = bsub.add_parser("engine", help="the streaming engine in process: RTF, latency, cached vs recompute, batching")
    be.add_argument("--model", default=DEFAULT_STREAMING)
    be.add_argument("--offline-model", default=DEFAULT_OFFLINE, help="also time this offline model ('' to skip)")
    be.add_argument("--untrained", action="store_true", help="use seeded random weights of the shipped sizes")
    be.add_argument("--quick", action="store_true", help="shorter audio and fewer batch sizes (smoke test)")
    be.add_argument("--cpu-only", action="store_true")
    be.add_argument("--json", action="store_true")
    be.set_defaults(func=cmd_bench_engine)

    from service.config import ServerConfig

    sv = sub.add_parser("serve", help="run the gRPC speech server")
    ServerConfig.add_arguments(sv)
    sv.set_defaults(func=cmd_serve)

    m = sub.add_parser("models", help="list models")
    m.set_defaults(func=cmd_models)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
