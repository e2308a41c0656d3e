"""`wavestream bench soak`: sustained load with churn, watching the server for leaks.

N workers each open a stream, send 5-20 s of audio at real-time pace and end it; one
stream in five is cancelled part-way instead, and one in seven goes quiet and is cut by the
server's idle timeout. Meanwhile the server process is sampled: RSS, open slots (its own
metric), threads, file descriptors. Memory growth is measured from the end of warm-up
(the first fifth of the run) to the end.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
import urllib.request

import grpc
import numpy as np
import psutil

from .bench_service import RATE, start_server, total_over
from .speech_client import AsyncSpeechClient, streaming_config

CHUNK_S = 0.16


def _active_streams(metrics_url: str) -> float:
    text = urllib.request.urlopen(metrics_url, timeout=5).read().decode()
    m = re.search(r"^wavestream_active_streams ([0-9.e+-]+)$", text, re.M)
    return float(m.group(1)) if m else float("nan")


async def _worker(target: str, seed: int, until: float, counts: dict) -> None:
    rng = random.Random(seed)
    audio_rng = np.random.default_rng(seed)
    client = AsyncSpeechClient(target)
    try:
        n = 0
        while time.perf_counter() < until:
            n += 1
            seconds = rng.uniform(5, 20)
            # the fault mix, offset per worker so that even a short soak has every kind
            cancel_at = rng.uniform(1, seconds) if (n + seed) % 5 == 0 else None
            quiet = cancel_at is None and (n + seed) % 7 == 3
            audio = (audio_rng.standard_normal(int(seconds * RATE)) * 0.1).astype("<f4")
            config = streaming_config(RATE, encoding=2, interim_results=True)
            chunk = int(CHUNK_S * RATE)

            async def chunks():
                start = time.perf_counter()
                for k in range(0, audio.size, chunk):
                    if cancel_at is not None and k / RATE >= cancel_at:
                        return
                    if quiet and k / RATE >= 1.0:
                        await asyncio.sleep(3600)  # stop sending: the server's idle timeout ends it
                    await asyncio.sleep(max(0.0, start + k / RATE - time.perf_counter()))
                    yield audio[k:k + chunk].tobytes()

            call = client.stream(chunks(), config)
            try:
                if cancel_at is not None:
                    async def consume():
                        async for _ in call:
                            pass
                    task = asyncio.ensure_future(consume())
                    await asyncio.sleep(cancel_at)
                    task.cancel()
                    counts["cancelled"] += 1
                    try:
                        await task
                    except (asyncio.CancelledError, grpc.RpcError):
                        pass
                else:
                    async for _ in call:
                        pass
                    counts["completed"] += 1
            except grpc.RpcError as e:
                key = "idle_timeouts" if e.code() == grpc.StatusCode.DEADLINE_EXCEEDED else "errors"
                counts[key] += 1
                if key == "errors":
                    counts.setdefault("error_examples", []).append(f"{e.code().name}: {e.details()}")
    finally:
        await client.close()


def _children_rss_mb(proc: psutil.Process) -> float:
    """The server's child processes together: its beam search workers (and multiprocessing's tracker)."""
    return total_over(proc.children(recursive=True), lambda p: p.memory_info().rss) / 2**20


async def _soak(target: str, streams: int, seconds: float, proc: psutil.Process, metrics_url: str,
                interval: float) -> dict:
    counts = {"completed": 0, "cancelled": 0, "idle_timeouts": 0, "errors": 0}
    t0 = time.perf_counter()
    until = t0 + seconds
    samples = []

    async def sampler():
        while True:
            samples.append({"t": round(time.perf_counter() - t0, 1), "rss_mb": proc.memory_info().rss / 2**20,
                            "workers_rss_mb": _children_rss_mb(proc), "threads": proc.num_threads(),
                            "fds": proc.num_fds(), "active_streams": await asyncio.to_thread(_active_streams, metrics_url)})
            await asyncio.sleep(interval)

    sampling = asyncio.ensure_future(sampler())
    await asyncio.gather(*(_worker(target, i, until, counts) for i in range(streams)))
    # every stream has ended; give the server a moment to release the idle ones
    deadline = time.perf_counter() + 60
    while await asyncio.to_thread(_active_streams, metrics_url) > 0 and time.perf_counter() < deadline:
        await asyncio.sleep(0.5)
    sampling.cancel()
    samples.append({"t": round(time.perf_counter() - t0, 1), "rss_mb": proc.memory_info().rss / 2**20,
                    "workers_rss_mb": _children_rss_mb(proc), "threads": proc.num_threads(), "fds": proc.num_fds(),
                    "active_streams": _active_streams(metrics_url)})
    return {"counts": counts, "samples": samples}


def run(args) -> dict:
    server, target, server_device = start_server(
        args.model, args.untrained, args.streams + 8, device=args.device,
        extra=["--idle-timeout-s", str(args.idle_timeout_s), "--metrics-port", str(args.metrics_port)])
    proc = psutil.Process(server.pid)
    metrics_url = f"http://127.0.0.1:{args.metrics_port}/metrics"
    try:
        seconds = args.minutes * 60
        result = asyncio.run(_soak(target, args.streams, seconds, proc, metrics_url, max(1.0, seconds / 60)))
    finally:
        server.terminate()
        exit_code = server.wait(60)
    samples = result["samples"]
    warm = [s for s in samples if s["t"] >= args.minutes * 60 * 0.2] or samples
    rss_start, rss_end = warm[0]["rss_mb"], samples[-1]["rss_mb"]
    return {
        "streams": args.streams, "server_device": server_device, "minutes": args.minutes, "idle_timeout_s": args.idle_timeout_s,
        **result["counts"],
        "rss_mb_after_warmup": round(rss_start, 1), "rss_mb_end": round(rss_end, 1),
        "rss_growth_percent": round(100 * (rss_end - rss_start) / rss_start, 2),
        "rss_mb_peak": round(max(s["rss_mb"] for s in samples), 1),
        "workers_rss_mb_after_warmup": round(warm[0]["workers_rss_mb"], 1),
        "workers_rss_mb_end": round(samples[-1]["workers_rss_mb"], 1),
        "workers_rss_growth_percent": round(100 * (samples[-1]["workers_rss_mb"] - warm[0]["workers_rss_mb"])
                                            / max(warm[0]["workers_rss_mb"], 1e-9), 2),
        "threads_start": warm[0]["threads"], "threads_end": samples[-1]["threads"],
        "fds_start": warm[0]["fds"], "fds_end": samples[-1]["fds"],
        "active_streams_end": samples[-1]["active_streams"],
        "server_exit_code": exit_code,
        "samples": samples,
    }


def format_summary(report: dict) -> str:
    return (f"{report['streams']} streams x {report['minutes']:g} min (the server on {report['server_device']}): "
            f"{report['completed']} completed, "
            f"{report['cancelled']} cancelled, {report['idle_timeouts']} idle timeouts, {report['errors']} errors\n"
            f"RSS {report['rss_mb_after_warmup']} MB after warm-up -> {report['rss_mb_end']} MB at the end "
            f"({report['rss_growth_percent']:+.2f}%), peak {report['rss_mb_peak']} MB; beam search workers "
            f"{report['workers_rss_mb_after_warmup']} -> {report['workers_rss_mb_end']} MB "
            f"({report['workers_rss_growth_percent']:+.2f}%); threads "
            f"{report['threads_start']} -> {report['threads_end']}; fds {report['fds_start']} -> {report['fds_end']}; "
            f"open slots at the end: {report['active_streams_end']:g}")
