"""`wavestream bench endpoint`: speech ends -> its final line arrives, the endpointer in the loop.

A live stream's final comes once the endpointer has heard `silence_after_text_s` with no new letter,
or `quiet_after_text_s` of quiet audio, and the final's search has run (the second pass, the blend,
the LM). This streams recordings to a real server as `wavestream mic` does: 100 ms blocks at
real-time pace, each sent when its last sample would have been spoken, interim results on, then
`tail_s` of silence (zeros) as a microphone goes on. Every setting (a row: a silence with the quiet
rule off, or a quiet with the server's silence) streams the same recording at once, so the settings
share the server's load side by side.

Per stream:
- speech end: the last word's time by `bench delay`'s `spoken_times` (the offline model's forced
  alignment of the transcript, in process);
- the final's wait: from the moment the audio up to speech end had been sent to the arrival of
  the first endpointer final sent after it, in wall time; and the part of it that was audio the
  endpointer waited for (that final's `latency.audio_received_s` less speech end): the rest is
  the server's time;
- cuts: endpointer finals before speech end, a pause inside the recording taken for its end;
- the joined finals' WER against the transcript (a cut can cost words: the search loses the
  context across it).
A stream whose endpointer gave no final after speech end before the silence ran out ends with the
stream's own final: counted as missed, not timed.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import numpy as np

from models.engine import Recogniser
from models.evaluate import wer_cer
from models.recogniser import SpeechRecogniser
from protos.wavestream.v1 import speech_pb2 as pb
from service.config import ServerConfig

from .bench_delay import aligned_clips
from .bench_service import start_server
from .mic import BLOCK_MS, SAMPLE_RATE
from .speech_client import AsyncSpeechClient, linear16, streaming_config


@dataclass(frozen=True)
class Setting:
    """A row's endpointing: silence after text with the quiet rule off, or quiet after text with the server's
    silence after text beside it."""
    silence_s: float = 0.0  # 0: the server's
    quiet_s: float = 0.0    # 0: off

    @property
    def label(self) -> str:  # a silence row keeps the bare number it had before the quiet rule
        return f"quiet {self.quiet_s:g}" if self.quiet_s else f"{self.silence_s:g}"

    def config(self) -> pb.EndpointingConfig:
        return pb.EndpointingConfig(silence_after_text_s=self.silence_s, quiet_after_text_s=self.quiet_s)


async def one_stream(client: AsyncSpeechClient, audio: np.ndarray, tail_s: float, speech_end_s: float,
                     setting: Setting) -> dict:
    """One recording, then `tail_s` of zeros, paced as a microphone gives it: the stream's finals,
    each with its arrival after speech end had been sent (s) and the audio the server had then."""
    pcm = linear16(np.concatenate([audio, np.zeros(round(tail_s * SAMPLE_RATE), dtype=np.float32)]))
    block = SAMPLE_RATE * BLOCK_MS // 1000 * 2
    config = streaming_config(SAMPLE_RATE, interim_results=True, word_time_offsets=False,
                              endpointing=setting.config())
    start = time.perf_counter()

    async def paced():
        for i in range(0, len(pcm), block):
            chunk = pcm[i:i + block]
            delay = start + (i + len(chunk)) / 2 / SAMPLE_RATE - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            yield chunk

    finals = []
    async for resp in client.stream(paced(), config):
        for r in resp.results:
            if r.is_final:
                finals.append({"text": r.alternatives[0].transcript if r.alternatives else "",
                               "after_speech_end_s": time.perf_counter() - start - speech_end_s,
                               "audio_received_s": resp.latency.audio_received_s})
    return {"finals": finals, "audio_s": len(audio) / SAMPLE_RATE, "tail_s": tail_s, "speech_end_s": speech_end_s}


def endpointed(stream: dict) -> dict | None:
    """The first endpointer final sent after speech end (None: the silence ran out first). The stream's
    own final at its end has every sample sent as its audio: not the endpointer's."""
    total_s = stream["audio_s"] + stream["tail_s"]
    for f in stream["finals"]:
        if stream["speech_end_s"] <= f["audio_received_s"] < total_s - 1e-3:
            return f
    return None


def summarise(setting: Setting, streams: list[dict], texts: list[str]) -> dict:
    waits, audio_waits = [], []
    cuts = [sum(f["audio_received_s"] < s["speech_end_s"] for f in s["finals"]) for s in streams]
    for s in streams:
        f = endpointed(s)
        if f:
            waits.append(f["after_speech_end_s"])
            audio_waits.append(f["audio_received_s"] - s["speech_end_s"])
    hyps = [" ".join(f["text"] for f in s["finals"] if f["text"]) for s in streams]
    wer, _ = wer_cer(texts, hyps)
    row = {"silence_after_text_s": setting.silence_s or None, "quiet_after_text_s": setting.quiet_s,
           "streams": len(streams), "timed": len(waits),
           "missed": len(streams) - len(waits), "cut": sum(cuts), "clips_cut": sum(n > 0 for n in cuts), "wer": wer}
    if not waits:
        return row | dict.fromkeys(("final_ms_p50", "final_ms_p95", "final_ms_max", "audio_wait_ms_p50", "server_ms_p50"))
    w, a = np.asarray(waits) * 1000, np.asarray(audio_waits) * 1000
    return row | {"final_ms_p50": round(float(np.percentile(w, 50))), "final_ms_p95": round(float(np.percentile(w, 95))),
                  "final_ms_max": round(float(w.max())), "audio_wait_ms_p50": round(float(np.percentile(a, 50))),
                  "server_ms_p50": round(float(np.percentile(w - a, 50)))}


async def _manifest(target: str, reference: Recogniser, manifest: str, settings: list[Setting], tail_s: float,
                    limit: int | None, parallel: int) -> dict:
    aligned, skipped = aligned_clips(manifest, reference, SAMPLE_RATE, limit)
    clips = [(audio, text, spoken[-1]) for audio, text, spoken in aligned]  # speech end: the last word's time
    per_setting: dict[Setting, list[dict]] = {s: [] for s in settings}
    async with AsyncSpeechClient(target, timeout=120 + tail_s + max(len(a) for a, _, _ in clips) / SAMPLE_RATE) as client:
        for i in range(0, len(clips), parallel):
            group = clips[i:i + parallel]
            jobs = [(s, one_stream(client, audio, tail_s, end_s, s)) for audio, _, end_s in group for s in settings]
            done = await asyncio.gather(*(j for _, j in jobs))
            for (s, _), stream in zip(jobs, done):
                per_setting[s].append(stream)
    texts = [t for _, t, _ in clips]
    return {"manifest": str(manifest), "clips": len(clips), "skipped": skipped,
            "rows": [summarise(s, per_setting[s], texts) for s in settings],
            "utterances": [{"text": t, "speech_end_s": round(end_s, 3),
                            "finals": {s.label: per_setting[s][i]["finals"] for s in settings}}
                           for i, (_, t, end_s) in enumerate(clips)]}


def run(offline: SpeechRecogniser, manifests: list[str], silences: list[float], tail_s: float = 3.0,
        limit: int | None = None, parallel: int = 2, server: str = "", quiets: tuple[float, ...] = ()) -> dict:
    """A row per silence after text (the quiet rule off) and per quiet after text (`quiets`; the server's silence
    beside it)."""
    if offline.cfg.streaming:
        raise ValueError(f"reference {offline.cfg.name!r} is a streaming model: speech end comes from a model "
                         f"that hears the whole recording")
    if tail_s <= max([*silences, *quiets]):
        raise ValueError(f"--tail-s {tail_s:g} leaves no time after the longest setting "
                         f"({max([*silences, *quiets]):g} s)")
    # a setting given twice is one row
    settings = list(dict.fromkeys([Setting(silence_s=s) for s in silences] + [Setting(quiet_s=q) for q in quiets]))
    reference = Recogniser(offline.eval())
    proc, device = None, None
    if not server:  # the server as `make serve` runs it: the shipped models, their defaults
        proc, server, device = start_server(ServerConfig.model, False, len(settings) * parallel)
    try:
        sets = [asyncio.run(_manifest(server, reference, m, settings, tail_s, limit, parallel)) for m in manifests]
    finally:
        if proc:
            proc.terminate()
            proc.wait(30)
    return {"target": server, "server_device": device, "reference": offline.cfg.name, "block_ms": BLOCK_MS,
            "tail_s": tail_s, "parallel_clips": parallel, "sets": sets}


def format_table(report: dict) -> str:
    lines = [f"# {report['command']}",
             f"speech end placed by {report['reference']}; {report['block_ms']} ms blocks at real-time pace, "
             f"{report['tail_s']:g} s of silence after; {report['parallel_clips']} recordings at a time, each under "
             f"every setting at once", "",
             "| set (clips) | endpointing: silence after text s | final p50 ms | final p95 ms | max ms | "
             "of it audio waited, p50 ms "
             "| server p50 ms | missed | cuts (clips) | WER |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for s in report["sets"]:
        for r in s["rows"]:
            setting = Setting(r["silence_after_text_s"] or 0.0, r["quiet_after_text_s"]).label
            lines.append(f"| {s['manifest']} ({s['clips']}) | {setting} | {r['final_ms_p50']} | "
                         f"{r['final_ms_p95']} | {r['final_ms_max']} | {r['audio_wait_ms_p50']} | {r['server_ms_p50']} | "
                         f"{r['missed']} | {r['cut']} ({r['clips_cut']}) | {100 * r['wer']:.1f} |")
        if s["skipped"]:
            lines.append(f"({s['manifest']}: {s['skipped']} clips could not be aligned and are left out)")
    return "\n".join(lines)
