"""Transcript output: txt, json, srt, vtt, built from the final results of a stream."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from protos.wavestream.v1 import speech_pb2 as pb

FORMATS = ("txt", "json", "srt", "vtt")
MAX_CUE_S = 6.0
MAX_CUE_WORDS = 12


@dataclass
class Segment:
    start: float
    end: float
    text: str
    confidence: float
    words: list[dict] = field(default_factory=list)
    alternatives: list[dict] = field(default_factory=list)  # runners-up {text, confidence}, when asked for


def segments_from(responses: list[pb.StreamingRecognizeResponse]) -> list[Segment]:
    segments, last_end = [], 0.0
    for resp in responses:
        for r in resp.results:
            if not r.is_final or not r.alternatives or not r.alternatives[0].transcript:
                continue
            alt = r.alternatives[0]
            words = [{"word": w.word, "start": round(w.start_s, 3), "end": round(w.end_s, 3),
                      "confidence": round(w.confidence, 3)} for w in alt.words]
            start = words[0]["start"] if words else last_end
            end = words[-1]["end"] if words else r.result_end_s
            others = [{"text": a.transcript, "confidence": round(a.confidence, 3)} for a in r.alternatives[1:]]
            segments.append(Segment(round(start, 3), round(end, 3), alt.transcript, round(alt.confidence, 3), words,
                                    others))
            last_end = end
    return segments


def _cues(segments: list[Segment]) -> list[tuple[float, float, str]]:
    """Subtitle cues: a segment split where it runs past MAX_CUE_S or MAX_CUE_WORDS."""
    cues = []
    for s in segments:
        if not s.words:
            cues.append((s.start, s.end, s.text))
            continue
        group: list[dict] = []
        for w in s.words:
            if group and (len(group) >= MAX_CUE_WORDS or w["end"] - group[0]["start"] > MAX_CUE_S):
                cues.append((group[0]["start"], group[-1]["end"], " ".join(g["word"] for g in group)))
                group = []
            group.append(w)
        if group:
            cues.append((group[0]["start"], group[-1]["end"], " ".join(g["word"] for g in group)))
    return cues


def _timestamp(t: float, sep: str) -> str:
    ms = int(round(t * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def render(fmt: str, segments: list[Segment], source: str, audio_s: float) -> str:
    if fmt == "txt":
        return "\n".join(s.text for s in segments) + ("\n" if segments else "")
    if fmt == "json":
        return json.dumps({"file": source, "audio_s": round(audio_s, 3), "text": " ".join(s.text for s in segments),
                           "segments": [asdict(s) for s in segments]}, indent=2) + "\n"
    cues = _cues(segments)
    if fmt == "srt":
        return "".join(f"{i}\n{_timestamp(a, ',')} --> {_timestamp(b, ',')}\n{t}\n\n" for i, (a, b, t) in enumerate(cues, 1))
    if fmt == "vtt":
        return "WEBVTT\n\n" + "".join(f"{_timestamp(a, '.')} --> {_timestamp(b, '.')}\n{t}\n\n" for a, b, t in cues)
    raise ValueError(f"unknown format {fmt!r}; choose from {FORMATS}")
