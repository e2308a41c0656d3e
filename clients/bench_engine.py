"""`wavestream bench engine`: the streaming engine measured in one process, side by side.

Everything is timed in this process against the same model, so ratios hold on a noisy
shared machine even where absolute times drift.
"""

from __future__ import annotations

import gc
import statistics
import time

import numpy as np
import torch

from models.engine import Recogniser
from models.recogniser import SpeechRecogniser
from models.streaming import state_bytes

CHUNK_MS = 160


def speech_like(seconds: float, rate: int, seed: int = 0) -> torch.Tensor:
    # Speech-like envelope over noise: content does not change the cost of a conv net.
    g = torch.Generator().manual_seed(seed)
    n = int(seconds * rate)
    env = (torch.sin(torch.arange(n) / rate * 2 * torch.pi * 3).abs() + 0.1)
    return torch.randn(n, generator=g) * 0.1 * env


def looped(paths: list[str], seconds: float, rate: int = 16000) -> np.ndarray:
    """The files' audio (any format `read_audio` reads, at `rate`) end to end, repeated to `seconds`."""
    from models.audio import read_audio

    audio = np.concatenate([read_audio(p, rate)[0] for p in paths])
    if audio.size == 0:
        raise ValueError("the audio files hold no samples")
    return np.tile(audio, int(np.ceil(seconds * rate / audio.size)))[:int(seconds * rate)]


def _time(fn, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def _percentile(values, q):
    return float(np.percentile(np.asarray(values), q))


@torch.inference_mode()
def single_stream(model: SpeechRecogniser, seconds: float = 30.0) -> dict:
    """One thread: streaming RTF and per-chunk latency at 160 ms; offline RTF."""
    rate = model.cfg.sample_rate
    audio = speech_like(seconds, rate)
    chunk = rate * CHUNK_MS // 1000
    result = {"model": model.cfg.name, "family": model.cfg.family, "audio_s": seconds}
    t0 = time.perf_counter()
    model(audio[None])
    result["offline_rtf"] = (time.perf_counter() - t0) / seconds
    if model.cfg.streaming:
        state = model.init_state(1)
        lat = []
        for i in range(0, audio.shape[0], chunk):
            t0 = time.perf_counter()
            _, state = model.step(audio[None, i:i + chunk], None, state)
            lat.append(time.perf_counter() - t0)
        result["streaming_rtf"] = sum(lat) / seconds
        result["chunk_ms"] = CHUNK_MS
        result["chunk_latency_ms_p50"] = _percentile(lat, 50) * 1000
        result["chunk_latency_ms_p95"] = _percentile(lat, 95) * 1000
    return result


@torch.inference_mode()
def cached_vs_recompute(model: SpeechRecogniser, history_s=(10, 60, 300), repeat: int = 3) -> list[dict]:
    """Cost of the next 160 ms chunk once a stream is L seconds long: cached state vs
    re-running the whole history (what a model without streaming state must do)."""
    rate = model.cfg.sample_rate
    chunk = rate * CHUNK_MS // 1000
    longest = max(history_s)
    audio = speech_like(longest + 5, rate, seed=1)
    state = model.init_state(1)
    pos = 0
    rows = []
    for L in sorted(history_s):
        target = int(L * rate)
        while pos < target:  # advance the stream to L seconds
            _, state = model.step(audio[None, pos:min(pos + chunk, target)], None, state)
            pos = min(pos + chunk, target)
        bytes_now = state_bytes(state)
        snapshot = {k: v.clone() for k, v in state.items()}
        cached = _time(lambda: model.step(audio[None, pos:pos + chunk], None, dict(snapshot)), repeat=20)
        history = audio[None, : pos + chunk]
        recompute = _time(lambda: model(history), repeat=repeat)
        c, r = statistics.median(cached), statistics.median(recompute)
        rows.append({"history_s": L, "cached_chunk_ms": c * 1000, "recompute_chunk_ms": r * 1000,
                     "speedup": r / c, "state_bytes_per_stream": bytes_now})
    return rows


@torch.inference_mode()
def batched_streams(model: SpeechRecogniser, device: torch.device, batches=(1, 8, 32, 128), steps: int = 12) -> list[dict]:
    """Batched steps of B streams x 160 ms: how many real-time streams that sustains."""
    rate = model.cfg.sample_rate
    chunk = rate * CHUNK_MS // 1000
    rec = Recogniser(model, device=device, max_streams=max(batches))
    rows = []
    for b in batches:
        streams = [rec.open_stream() for _ in range(b)]
        audio = speech_like(CHUNK_MS / 1000 * (steps + 3), rate, seed=b).numpy()
        times = []
        for k in range(steps + 3):
            piece = audio[k * chunk:(k + 1) * chunk]
            _sync(device)
            t0 = time.perf_counter()
            rec.step([(s, piece) for s in streams])
            _sync(device)
            if k >= 3:  # warm-up steps excluded
                times.append(time.perf_counter() - t0)
        for s in streams:
            s.close()
        step_s = statistics.median(times)
        rows.append({
            "batch": b, "step_ms_p50": step_s * 1000, "step_ms_p95": _percentile(times, 95) * 1000,
            "rtf_per_stream": step_s / (CHUNK_MS / 1000) / b,
            "realtime": _percentile(times, 95) <= CHUNK_MS / 1000,
            # streams this batch size could serve in real time running steps back to back
            "stream_capacity": int(b * (CHUNK_MS / 1000) / step_s),
        })
    return rows


def run(streaming: SpeechRecogniser, offline: SpeechRecogniser | None, devices: list[str],
        quick: bool = False, threads: int | None = None) -> dict:
    all_threads = threads or torch.get_num_threads()
    report: dict = {"torch": torch.__version__, "threads_available": all_threads, "chunk_ms": CHUNK_MS,
                    "streaming_model": streaming.cfg.name,
                    "params": {streaming.cfg.name: sum(p.numel() for p in streaming.parameters())},
                    "gflops_per_audio_s": {streaming.cfg.name: streaming.flops_per_second() / 1e9}}
    if offline is not None:
        report["params"][offline.cfg.name] = sum(p.numel() for p in offline.parameters())
        report["gflops_per_audio_s"][offline.cfg.name] = offline.flops_per_second() / 1e9
    torch.set_num_threads(1)
    try:
        secs = 10.0 if quick else 30.0
        report["single_stream_1_thread"] = [single_stream(streaming, secs)]
        if offline is not None:
            report["single_stream_1_thread"].append(single_stream(offline, secs))
        report["cached_vs_recompute_1_thread"] = cached_vs_recompute(
            streaming, (2, 10) if quick else (10, 60, 300), repeat=1 if quick else 3)
    finally:
        torch.set_num_threads(all_threads)
    gc.collect()
    report["batched"] = {}
    for dev in devices:
        device = torch.device(dev)
        model = streaming.to(device)
        batches = (1, 8) if quick else (1, 8, 32, 128)
        report["batched"][dev] = {"threads": all_threads if dev == "cpu" else None,
                                  "rows": batched_streams(model, device, batches)}
        streaming.to("cpu")
    return report


def format_table(report: dict) -> str:
    lines = [f"torch {report['torch']}, {report['threads_available']} CPU threads, {report['chunk_ms']} ms chunks"]
    for name, p in report["params"].items():
        lines.append(f"{name}: {p / 1e6:.2f} M params, {report['gflops_per_audio_s'][name]:.3f} GFLOP per audio second")
    lines.append("")
    lines.append("| model | threads | offline RTF | streaming RTF | chunk p50 ms | chunk p95 ms |")
    lines.append("|---|---|---|---|---|---|")
    for r in report["single_stream_1_thread"]:
        lines.append(f"| {r['model']} | 1 | {r['offline_rtf']:.4f} | {r.get('streaming_rtf', float('nan')):.4f} | "
                     f"{r.get('chunk_latency_ms_p50', float('nan')):.2f} | {r.get('chunk_latency_ms_p95', float('nan')):.2f} |")
    lines.append("")
    lines.append("| history | cached chunk ms | recompute chunk ms | speedup | state bytes/stream |")
    lines.append("|---|---|---|---|---|")
    for r in report["cached_vs_recompute_1_thread"]:
        lines.append(f"| {r['history_s']} s | {r['cached_chunk_ms']:.2f} | {r['recompute_chunk_ms']:.1f} | "
                     f"{r['speedup']:.0f}x | {r['state_bytes_per_stream']} |")
    for dev, block in report["batched"].items():
        lines.append("")
        lines.append(f"batched steps on {dev}" + (f" ({block['threads']} threads)" if block["threads"] else ""))
        lines.append("| batch | step p50 ms | step p95 ms | RTF/stream | real time | stream capacity |")
        lines.append("|---|---|---|---|---|---|")
        for r in block["rows"]:
            lines.append(f"| {r['batch']} | {r['step_ms_p50']:.1f} | {r['step_ms_p95']:.1f} | {r['rtf_per_stream']:.4f} | "
                         f"{'yes' if r['realtime'] else 'no'} | {r['stream_capacity']} |")
    return "\n".join(lines)
