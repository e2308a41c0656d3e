"""WER/CER of a model on manifests: `wavestream eval MANIFEST ... --json`."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jiwer

from .audio import read_audio
from .batched_streams import BatchedStreams
from .data import read_manifest
from .engine import Recogniser


def wer_cer(refs: list[str], hyps: list[str]) -> tuple[float, float]:
    # jiwer needs non-empty references; an empty hypothesis is all deletions
    pairs = [(r, h) for r, h in zip(refs, hyps) if r.strip()]
    if not pairs:
        return float("nan"), float("nan")
    r, h = zip(*pairs)
    return float(jiwer.wer(list(r), list(h))), float(jiwer.cer(list(r), list(h)))


def evaluate(manifest: str | Path, transcribe, rate: int = 16000, limit: int | None = None,
             errors: bool = False, utterances: bool = False, jobs: int = 1) -> dict:
    """`transcribe(audio_path, samples) -> text` for each utterance; scores and speed, with `errors`
    every utterance not read exactly right, and with `utterances` every utterance's reference and
    reading (what `wavestream compare` needs). `jobs` > 1: that many utterances in flight at once
    (`transcribe` must be safe to call from as many threads); the RTF is then the whole pass's
    wall-clock time, reading the files included, per audio second (otherwise the time spent in
    `transcribe` alone)."""
    rows = read_manifest(manifest)[:limit]

    def read(u) -> tuple[str, float, float]:  # the reading, its audio seconds, its compute seconds
        samples, _ = read_audio(u.audio, rate)
        t0 = time.perf_counter()
        hyp = transcribe(u.audio, samples)
        return hyp, samples.size / rate, time.perf_counter() - t0

    t0 = time.perf_counter()
    if jobs > 1:
        with ThreadPoolExecutor(jobs) as pool:
            done = list(pool.map(read, rows))
    else:
        done = [read(u) for u in rows]
    wall_s = time.perf_counter() - t0
    hyps = [hyp for hyp, _, _ in done]
    refs = [u.text for u in rows]
    audio_s = sum(a for _, a, _ in done)
    compute_s = wall_s if jobs > 1 else sum(c for _, _, c in done)
    wrong = [{"audio": str(u.audio), "ref": u.text, "hyp": h} for u, h in zip(rows, hyps) if h != u.text]
    wer, cer = wer_cer(refs, hyps)
    # words: the WER's denominator (the references' words), so that wer * words counts the errors
    result = {"manifest": str(manifest), "wer": wer, "cer": cer, "n": len(rows),
              "words": sum(len(r.split()) for r in refs), "audio_s": round(audio_s, 3),
              "rtf": compute_s / audio_s if audio_s else float("nan"),
              "examples": [{"ref": r, "hyp": h} for r, h in list(zip(refs, hyps))[:5]]}
    if errors:
        result["errors"] = wrong
    if utterances:
        result["utterances"] = [{"audio": str(u.audio), "ref": r, "hyp": h} for u, r, h in zip(rows, refs, hyps)]
    return result


class InProcess:
    """`transcribe(path, samples)` by a model in this process: a whole file, or streamed in chunks of
    `chunk_ms`; with `at_once` > 1 (as many threads calling), the streams' steps batched together."""

    def __init__(self, rec: Recogniser, streaming: bool = False, chunk_ms: float = 160, constraint=None,
                 at_once: int = 1):
        self.rec, self.streaming, self.constraint = rec, streaming, constraint
        self.chunk = max(1, int(rec.sample_rate * chunk_ms / 1000))
        self.batched = BatchedStreams(rec, self.chunk, constraint) if streaming and at_once > 1 else None

    def __call__(self, _path, samples) -> str:
        if not self.streaming:
            return self.rec.transcribe(samples, constraint=self.constraint).text
        if self.batched is not None:
            return self.batched.transcribe(samples)
        return self.rec.transcribe_streamed(samples, self.chunk, self.constraint).text

    def close(self) -> None:
        if self.batched is not None:
            self.batched.close()


def through_server(target: str, token: str | None = None, constraint=None):
    from clients.speech_client import SpeechClient

    client = SpeechClient(target, token=token)

    def transcribe(path, _samples) -> str:
        resp = client.recognize_file(path, constraint=constraint)  # a long file: a final a piece
        return " ".join(t for r in resp.results if (t := r.alternatives[0].transcript))

    return transcribe
