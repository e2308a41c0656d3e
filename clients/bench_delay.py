"""`wavestream bench delay`: how long after a word is spoken a stream's partials can show it.

Each word of each transcript is placed twice, by the forced alignment (torchaudio's `forced_align`)
of the transcript in two readings of the recording, at the frame of the word's last letter:
- when it was spoken: the offline model's reading of the whole recording, which hears both sides
  of every frame, so its letters sit on their sounds; the word's time is that frame's end, or the
  recording's end if sooner (read, as finals are, with the end pad after it: a short word, "three"
  in 0.2 s, has too few frames for its letters without);
- when a stream has it: the streaming model's reading, streamed in chunks of `chunk_ms` as a
  client sends them, with `tail_s` of silence after the recording (a microphone goes on); the
  word's time is the audio sent when the step that gave that frame ran.
The delay, their difference, is the streaming model's lookahead, what it learnt to wait before
emitting a letter, and the wait for a chunk to fill. It is counted in audio time, so the machine's
speed does not enter it: the server's own time per step (`bench service`'s partial latency) comes
on top. Partials are greedy: a word the stream has can still be misspelt there; this measures when
the evidence for it arrives, not whether the greedy reading gets it right.
"""

from __future__ import annotations

import numpy as np
import torch
import torchaudio.functional as AF
from torch import Tensor

from models.audio import read_audio
from models.checks import stepped_logits
from models.ctc import BLANK, Vocabulary
from models.data import read_manifest
from models.decoding_defaults import END_PAD_S
from models.engine import Recogniser
from models.recogniser import SpeechRecogniser


def last_letter_frames(logits: Tensor, text: str, vocab: Vocabulary) -> list[int]:
    """The frame of each word's last letter in the forced alignment of `text` in `logits` [T, vocab].
    Raises ValueError where the text has characters outside the vocabulary, RuntimeError where the
    reading is too short to hold it."""
    target = torch.tensor([vocab.encode(text)])
    log_probs = logits.float().log_softmax(-1)[None]
    path, scores = AF.forced_align(log_probs, target, blank=BLANK)
    spans = AF.merge_tokens(path[0], scores[0].exp(), blank=BLANK)  # one span per letter of the text, in order
    return [spans[i].start for i, c in enumerate(text) if c != " " and (i + 1 == len(text) or text[i + 1] == " ")]


def streamed(model: SpeechRecogniser, audio: np.ndarray, chunk: int) -> tuple[Tensor, list[float]]:
    """The stream's reading of `audio` sent `chunk` samples at a time, and for each of its frames the
    audio seconds sent when it came."""
    steps, _ = stepped_logits(model, torch.from_numpy(audio), chunk)
    arrived = [min((i + 1) * chunk, len(audio)) / model.cfg.sample_rate
               for i, step in enumerate(steps) for _ in range(step.shape[0])]
    return torch.cat(steps), arrived


def spoken_times(offline: Recogniser, audio: np.ndarray, text: str) -> list[float]:
    """When each word of `text` was spoken in `audio`: the end of its last letter's frame in the offline
    model's forced alignment, or the recording's end if sooner (seconds)."""
    end_s = len(audio) / offline.sample_rate
    padded = np.concatenate([audio, np.zeros(round(END_PAD_S * offline.sample_rate), dtype=np.float32)])
    return [min((f + 1) * offline.frame_s, end_s)
            for f in last_letter_frames(offline.logits(padded)[0], text, offline.vocab)]


def aligned_clips(manifest: str, reference: Recogniser, rate: int, limit: int | None = None
                  ) -> tuple[list[tuple[np.ndarray, str, list[float]]], int]:
    """The manifest's first `limit` clips as (audio at `rate`, transcript, `spoken_times`), and how many were left
    out: a text out of the vocabulary, too long for its audio, or empty. Raises ValueError where none is left."""
    clips, skipped = [], 0
    for u in read_manifest(manifest)[:limit]:
        audio, _ = read_audio(u.audio, rate)
        try:
            spoken = spoken_times(reference, audio, u.text)
        except (ValueError, RuntimeError):
            spoken = []
        if spoken:
            clips.append((audio, u.text, spoken))
        else:
            skipped += 1
    if not clips:
        raise ValueError(f"{manifest}: no clip could be aligned")
    return clips, skipped


def word_delays(streaming: SpeechRecogniser, spoken: list[float], audio: np.ndarray, text: str,
                chunk_ms: list[float], tail_s: float) -> dict[float, list[float]]:
    """Each word's delay in seconds, per chunk size, for one recording whose words were spoken at `spoken`."""
    rate = streaming.cfg.sample_rate
    sent = np.concatenate([audio, np.zeros(round(tail_s * rate), dtype=np.float32)])
    vocab = Vocabulary(streaming.cfg.vocab)
    delays = {}
    for ms in chunk_ms:
        logits, arrived = streamed(streaming, sent, max(1, round(rate * ms / 1000)))
        frames = last_letter_frames(logits, text, vocab)
        delays[ms] = [arrived[f] - s for f, s in zip(frames, spoken)]
    return delays


def _row(ms: float, seconds: list[float]) -> dict:
    d = np.asarray(seconds) * 1000
    return {"chunk_ms": ms, "words": int(d.size), "p50_ms": round(float(np.percentile(d, 50))),
            "p90_ms": round(float(np.percentile(d, 90))), "p95_ms": round(float(np.percentile(d, 95))),
            "mean_ms": round(float(d.mean())), "min_ms": round(float(d.min())), "max_ms": round(float(d.max()))}


def run(streaming: SpeechRecogniser, offline: SpeechRecogniser, manifests: list[str], chunk_ms: list[float],
        tail_s: float = 1.0, limit: int | None = None) -> dict:
    if not streaming.cfg.streaming:
        raise ValueError(f"model {streaming.cfg.name!r} is offline-only; the delay is a streaming model's")
    if offline.cfg.streaming:
        raise ValueError(f"reference {offline.cfg.name!r} is a streaming model: the words' times come from a model "
                         f"that hears the whole recording")
    streaming, reference = streaming.eval(), Recogniser(offline)
    report = {"model": streaming.cfg.name, "reference": offline.cfg.name,
              "lookahead_ms": streaming.cfg.lookahead_frames * streaming.cfg.frame_ms,
              "frame_ms": streaming.cfg.frame_ms, "tail_s": tail_s, "sets": []}
    for manifest in manifests:
        per_chunk: dict[float, list[float]] = {ms: [] for ms in chunk_ms}
        aligned, skipped = aligned_clips(manifest, reference, streaming.cfg.sample_rate, limit)
        clips = 0
        for audio, text, spoken in aligned:
            try:
                delays = word_delays(streaming, spoken, audio, text, chunk_ms, tail_s)
            except (ValueError, RuntimeError):  # the streamed reading cannot hold the text
                skipped += 1
                continue
            clips += 1
            for ms, d in delays.items():
                per_chunk[ms] += d
        if not clips:
            raise ValueError(f"{manifest}: no clip could be aligned")
        report["sets"].append({"manifest": str(manifest), "clips": clips, "skipped": skipped,
                               "rows": [_row(ms, d) for ms, d in per_chunk.items()]})
    return report


def format_table(report: dict) -> str:
    lines = [f"# {report['command']}",
             f"{report['model']} (lookahead {report['lookahead_ms']:g} ms), words placed by {report['reference']}",
             "", "| set (clips) | chunk ms | words | p50 ms | p90 ms | p95 ms | mean ms | min ms | max ms |",
             "|---|---|---|---|---|---|---|---|---|"]
    for s in report["sets"]:
        for r in s["rows"]:
            lines.append(f"| {s['manifest']} ({s['clips']}) | {r['chunk_ms']:g} | {r['words']} | {r['p50_ms']} | "
                         f"{r['p90_ms']} | {r['p95_ms']} | {r['mean_ms']} | {r['min_ms']} | {r['max_ms']} |")
        if s["skipped"]:
            lines.append(f"({s['manifest']}: {s['skipped']} clips could not be aligned and are left out)")
    return "\n".join(lines)
