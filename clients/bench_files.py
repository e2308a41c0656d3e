"""`wavestream bench files`: one long recording through Recognize's path, in process, side by side.

A recording past the beam search's limit (`models.engine.MAX_BEAM_S`) is decoded in pieces cut at
pauses. With the search in N worker processes (the server's `--beam-workers`), N pieces are
searched at once. This times the same recording read with one search worker and with N, the runs
alternating so that both see the same machine, and checks that both give the same finals.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch

from models.beam import BeamConfig, BeamDecoder
from models.blend import Blend
from models.decoding_defaults import BEAM_THRESHOLD, BLEND_RESCORE, BLEND_RESCORE_BEAM
from models.engine import MAX_BEAM_S, Recogniser
from models.recogniser import SpeechRecogniser

from .bench_engine import looped

RATE = 16000
CHUNK_S = 1.0   # as Recognize hands audio on: a second at a time
BLOCK_S = 600.0  # the server's --offline-max-s default


def _chunks(audio: np.ndarray):
    step = int(CHUNK_S * RATE)
    return (audio[i:i + step] for i in range(0, audio.size, step))


def _finals_key(finals) -> list:
    return [(f.text, f.end_time_s, [(w.word, w.start_s, w.end_s) for w in f.words]) for f in finals]


def run(model: SpeechRecogniser, blend: SpeechRecogniser | None, lm, audio_paths: list[str], minutes: float,
        workers: int, repeat: int, rescore: int = BLEND_RESCORE, rescore_beam: int = BLEND_RESCORE_BEAM,
        beam_threshold: float = BEAM_THRESHOLD) -> dict:
    audio = looped(audio_paths, minutes * 60, RATE)
    torch.set_num_threads(1)  # as the server runs its models (README, "The models' CPU threads")
    readers = {}
    try:
        for n in sorted({1, workers}):
            decoder = BeamDecoder.for_model(model.cfg, lm, BeamConfig(beam_threshold=beam_threshold), workers=n)
            readers[n] = Recogniser(model, beam=decoder,
                                    blend=Blend(blend, rescore=rescore, rescore_beam=rescore_beam)
                                    if blend is not None else None)
        times: dict[int, list[float]] = {n: [] for n in readers}
        finals = {}
        for _ in range(repeat):
            for n, rec in readers.items():  # alternating: drift on a shared machine falls on both
                t0 = time.perf_counter()
                finals[n], _ = rec.transcribe_file(_chunks(audio), BLOCK_S)
                times[n].append(time.perf_counter() - t0)
        # the logits alone, for the share of the time the search takes
        t0 = time.perf_counter()
        readers[1].final_readings_in_blocks(_chunks(audio), BLOCK_S)
        logits_s = time.perf_counter() - t0
    finally:
        for rec in readers.values():
            rec.beam.close()
    base = statistics.median(times[1])
    rows = [{"search_workers": n, "wall_s_median": statistics.median(t), "wall_s": t,
             "rtf": statistics.median(t) / (audio.size / RATE), "speedup": base / statistics.median(t)}
            for n, t in times.items()]
    return {"model": model.cfg.name, "blend": blend.cfg.name if blend is not None else None,
            "blend_rescore": rescore if blend is not None else None,
            "blend_rescore_beam": rescore_beam if blend is not None and rescore else None,
            "beam_threshold": beam_threshold, "lm": str(lm) if lm else None, "audio_files": len(audio_paths),
            "audio_s": audio.size / RATE,
            "pieces": len(finals[1]), "max_piece_s": MAX_BEAM_S, "repeat": repeat, "logits_s": logits_s,
            "same_finals": all(_finals_key(f) == _finals_key(finals[1]) for f in finals.values()), "rows": rows}


def format_table(report: dict) -> str:
    beam = f", each model's own search at beam {report['blend_rescore_beam']}" if report["blend_rescore_beam"] else ""
    rescored = (f" (finals scored again: {report['blend_rescore']} texts a search{beam})" if report["blend_rescore"]
                else "")
    lines = [f"{report['model']}" + (f" blended with {report['blend']}{rescored}" if report["blend"] else "")
             + f", threshold {report['beam_threshold']:g}"
             + f", {report['audio_s'] / 60:.1f} min ({report['audio_files']} files end to end, repeated) in "
             f"{report['pieces']} pieces (at most "
             f"{report['max_piece_s']:g} s each); median of {report['repeat']}; the logits alone "
             f"{report['logits_s']:.1f} s; same finals with every worker count: "
             f"{'yes' if report['same_finals'] else 'NO'}", "",
             "| search workers | wall s | RTF | speedup |", "|---|---|---|---|"]
    for r in report["rows"]:
        lines.append(f"| {r['search_workers']} | {r['wall_s_median']:.1f} | {r['rtf']:.4f} | {r['speedup']:.2f}x |")
    return "\n".join(lines)
