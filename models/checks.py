"""Proof that streaming equals offline, for a user's own audio and model."""

from __future__ import annotations

import torch

from .engine import Recogniser
from .recogniser import SpeechRecogniser


@torch.inference_mode()
def stepped_logits(model: SpeechRecogniser, audio: torch.Tensor, chunk: int) -> tuple[list[torch.Tensor], dict]:
    """`audio` fed to a stream `chunk` samples at a time: each step's logits [new frames, vocab] (what a live
    stream has after that chunk), and the state after the last."""
    state = model.init_state(1)
    outs = []
    for i in range(0, audio.shape[0], chunk):
        out, state = model.step(audio[None, i:i + chunk], None, state)
        outs.append(out.logits[0])
    return outs, state


@torch.inference_mode()
def streamed_logits(model: SpeechRecogniser, audio: torch.Tensor, chunk: int) -> torch.Tensor:
    outs, state = stepped_logits(model, audio, chunk)
    out, _ = model.flush(state)
    return torch.cat(outs + [out.logits[0]])


def check_streaming(model: SpeechRecogniser, audio, chunk_ms: list[float]) -> dict:
    rec = Recogniser(model, max_streams=1)
    audio = torch.as_tensor(audio, dtype=torch.float32)
    with torch.inference_mode():
        offline = model(audio[None]).logits[0]
    offline_text = rec.transcribe(audio).text
    rate = model.cfg.sample_rate
    per_chunking = []
    for ms in chunk_ms:
        chunk = max(1, int(round(ms * rate / 1000)))
        streamed = streamed_logits(model, audio, chunk)
        diff = float((streamed - offline).abs().max()) if streamed.shape == offline.shape else float("inf")
        text = rec.transcribe_streamed(audio, chunk).text
        per_chunking.append({
            "chunk_ms": ms, "chunk_samples": chunk, "frames": int(streamed.shape[0]),
            "max_abs_diff": diff, "transcript": text, "transcripts_equal": text == offline_text,
        })
    return {
        "model": model.cfg.name,
        "duration_s": audio.shape[0] / rate,
        "offline_frames": int(offline.shape[0]),
        "offline_transcript": offline_text,
        "max_abs_diff": max(r["max_abs_diff"] for r in per_chunking),
        "transcripts_equal": all(r["transcripts_equal"] for r in per_chunking),
        "chunkings": per_chunking,
    }
