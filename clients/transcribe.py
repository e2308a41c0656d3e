"""`wavestream transcribe`: many files through the server, one output each, bad files listed, none lost."""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import grpc
import soundfile as sf
from tqdm import tqdm

from models.audio_files import audio_files
from protos.wavestream.v1 import speech_pb2 as pb

from .formats import render, segments_from
from .speech_client import SpeechClient, constraint_from_args, file_chunks


def collect(inputs: list[str]) -> list[Path]:
    files: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            files.extend(audio_files(p, recursive=True))
        else:
            files.append(p)  # named explicitly: tried whatever its suffix, so a bad one is reported
    return files


def output_path(src: Path, fmt: str, out_dir: Path | None) -> Path:
    return (out_dir / f"{src.stem}.{fmt}") if out_dir else src.with_suffix(f".{fmt}")


def transcribe_one(client: SpeechClient, src: Path, fmt: str, out: Path, realtime: bool,
                   constraint: pb.Constraint | None = None, alternatives: int = 1) -> None:
    try:
        config, chunks = file_chunks(src, chunk_ms=160 if realtime else 1000)
        audio_s = sf.info(str(src)).duration
    except (sf.LibsndfileError, RuntimeError, OSError) as e:
        raise ValueError(f"cannot read audio: {e}") from None
    config.interim_results = False
    config.max_alternatives = alternatives
    if constraint is not None:
        config.constraint.CopyFrom(constraint)
    responses = list(client.stream(chunks, config, realtime=realtime))
    text = render(fmt, segments_from(responses), str(src), audio_s)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    tmp.write_text(text)
    os.replace(tmp, out)  # whole or absent: an interrupted run never leaves a half-written result


def run(args) -> int:
    files = collect(args.inputs)
    if not files:
        print("wavestream transcribe: no audio files found", file=sys.stderr)
        return 2
    out_dir = Path(args.out) if args.out else None
    todo = [(f, output_path(f, args.format, out_dir)) for f in files]
    skipped = [f for f, o in todo if o.exists() and not args.overwrite]
    todo = [(f, o) for f, o in todo if args.overwrite or not o.exists()]
    failed: list[tuple[Path, str]] = []
    client = SpeechClient(args.server, token=args.token, tls_ca=args.tls_ca)
    constraint = constraint_from_args(args)
    with ThreadPoolExecutor(max_workers=args.jobs) as pool, \
            tqdm(total=len(todo), unit="file", disable=args.quiet, file=sys.stderr) as bar:
        futures = {pool.submit(transcribe_one, client, f, args.format, o, args.realtime, constraint,
                               args.alternatives): f for f, o in todo}
        for fut in as_completed(futures):
            src = futures[fut]
            try:
                fut.result()
            except grpc.RpcError as e:
                failed.append((src, f"{e.code().name}: {e.details()}"))
            except Exception as e:  # one bad file never costs the others their results
                failed.append((src, str(e)))
            bar.update(1)
    client.close()
    done = len(todo) - len(failed)
    print(f"{done} transcribed, {len(skipped)} already done, {len(failed)} failed", file=sys.stderr)
    for src, why in failed:
        print(f"  FAILED {src}: {why}", file=sys.stderr)
    return 1 if failed else 0
