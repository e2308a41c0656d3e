"""`wavestream bench service`: N concurrent paced real-time streams through a real server.

Ramps N up; at each level every stream sends 160 ms LINEAR16 chunks at real-time pace
for a fixed time. Partial latency = chunk sent -> the interim result that answers it
(matched by `latency.audio_received_s`); final latency = end of audio -> last final.
Reports the most streams sustained with p95 partial latency <= the limit, and the server's CPU and
memory (its beam search worker processes included).

By default every stream lasts the whole level, so all N end together (finals' worst case).
With `session_s=(MIN, MAX)` each of the N slots instead runs streams of MIN-MAX s back to back
until the level's time is up: N streams at any moment, their ends (and finals) spread out,
as in a live deployment.
"""

from __future__ import annotations

import asyncio
import random
import re
import subprocess
import sys
import threading
import time

import numpy as np
import psutil

from .bench_engine import looped, speech_like
from .speech_client import AsyncSpeechClient, linear16, streaming_config

CHUNK_MS = 160
RATE = 16000


def _audio(seconds: float, path: str | None) -> np.ndarray:
    return looped([path], seconds, RATE) if path else speech_like(seconds, RATE).numpy()


async def one_stream(client: AsyncSpeechClient, pcm: bytes, offset_chunks: int, partial: list, final: list, errors: list):
    chunk_bytes = RATE * CHUNK_MS // 1000 * 2
    chunks = [pcm[i:i + chunk_bytes] for i in range(0, len(pcm), chunk_bytes)]
    sent_at: dict[float, float] = {}
    end_sent = {"t": None}
    config = streaming_config(RATE, interim_results=True)

    async def paced():
        await asyncio.sleep((offset_chunks % 8) * CHUNK_MS / 8000)  # spread stream phases over a chunk
        start = time.perf_counter()
        received = 0
        for k, c in enumerate(chunks):
            delay = start + k * CHUNK_MS / 1000 - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            received += len(c) // 2
            sent_at[round(received / RATE, 3)] = time.perf_counter()
            yield c
        end_sent["t"] = time.perf_counter()

    last_final = None
    try:
        async for resp in client.stream(paced(), config):
            now = time.perf_counter()
            for r in resp.results:
                if r.is_final:
                    last_final = now
                else:
                    t = sent_at.get(round(resp.latency.audio_received_s, 3))
                    if t is not None:
                        partial.append(now - t)
    except Exception as e:  # counted, reported: a failed stream is a failed level
        errors.append(repr(e))
        return
    if end_sent["t"] and last_final and last_final >= end_sent["t"]:
        final.append(last_final - end_sent["t"])


async def slot(client: AsyncSpeechClient, pcm: bytes, i: int, seconds: float, session_s: tuple[float, float],
               partial: list, final: list, errors: list):
    """Streams of session_s seconds one after another, each from a random point of the audio,
    until `seconds` have passed."""
    rng = random.Random(i)
    until = time.perf_counter() + seconds
    while (left := until - time.perf_counter()) >= session_s[0]:
        n_bytes = int(min(rng.uniform(*session_s), left) * RATE) * 2
        start = rng.randrange(0, max(1, len(pcm) - n_bytes) // 2) * 2
        await one_stream(client, pcm[start:start + n_bytes], i, partial, final, errors)
        if errors:
            return


async def level(target: str, n: int, seconds: float, audio: np.ndarray, proc: psutil.Process | None,
                session_s: tuple[float, float] | None = None) -> dict:
    pcm = linear16(audio)
    partial, final, errors = [], [], []
    clients = [AsyncSpeechClient(target) for _ in range(max(1, n // 25))]
    cpu0 = server_cpu_s(proc) if proc else None
    t0 = time.perf_counter()
    if session_s:
        await asyncio.gather(*(slot(clients[i % len(clients)], pcm, i, seconds, session_s, partial, final, errors)
                               for i in range(n)))
    else:
        await asyncio.gather(*(one_stream(clients[i % len(clients)], pcm[: int(seconds * RATE) * 2], i, partial,
                                          final, errors) for i in range(n)))
    wall = time.perf_counter() - t0
    cpu = round(100 * (server_cpu_s(proc) - cpu0) / wall, 1) if proc else None
    mem = server_pss_mb(proc) if proc else None
    for c in clients:
        await c.close()
    p = np.asarray(partial) * 1000 if partial else np.asarray([np.inf])
    f = np.asarray(final) * 1000 if final else np.asarray([np.inf])
    return {"streams": n, "errors": len(errors), "wall_s": wall, "finals": len(final),
            "partial_ms_p50": float(np.percentile(p, 50)), "partial_ms_p95": float(np.percentile(p, 95)),
            "final_ms_p50": float(np.percentile(f, 50)), "final_ms_p95": float(np.percentile(f, 95)),
            "server_cpu_percent": cpu, "server_mem_mb": mem, "first_error": errors[0] if errors else None}


def total_over(processes: list[psutil.Process], measure) -> float:
    """measure(p) summed over the processes, skipping any that have gone."""
    total = 0.0
    for p in processes:
        try:
            total += measure(p)
        except psutil.NoSuchProcess:
            pass
    return total


def _server_processes(proc: psutil.Process) -> list[psutil.Process]:
    """The server and its beam search worker processes."""
    return [proc, *proc.children(recursive=True)]


def server_cpu_s(proc: psutil.Process) -> float:
    """CPU seconds so far of the server and its worker processes (finals' searches run there)."""
    return total_over(_server_processes(proc), lambda p: sum(p.cpu_times()[:2]))  # user + system


def server_pss_mb(proc: psutil.Process) -> float | None:
    """Memory of the server and its workers, shared pages split among the processes sharing them
    (PSS; None where the system does not say)."""
    try:
        return round(total_over(_server_processes(proc), lambda p: p.memory_full_info().pss) / 2**20)
    except (AttributeError, psutil.AccessDenied):
        return None


def start_server(model: str, untrained: bool, max_streams: int, extra: list[str] | None = None,
                 device: str | None = None) -> tuple[subprocess.Popen, str, str]:
    """A server on a free port: (process, host:port, the device it serves on). `device`: None leaves the
    server's own default (WAVESTREAM_DEVICE, else cpu)."""
    cmd = [sys.executable, "-m", "clients.cli", "serve", "--port", "0", "--metrics-port", "0", "--model", model,
           "--max-streams", str(max_streams), "--max-batch", str(max_streams), *(extra or [])]
    if untrained:
        cmd.append("--untrained")
    if device:
        cmd += ["--device", device]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    log = []
    try:
        for line in proc.stderr:
            m = re.search(r"serving \S+ on (\S+):(\d+) \(([^,)]+)", line)
            if m:
                # keep draining the server's log so it never blocks on a full pipe
                threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
                return proc, f"{m.group(1)}:{m.group(2)}", m.group(3)
            log.append(line)
    except BaseException:  # stopped (Ctrl-C, SIGTERM) while the server starts: not left running
        proc.terminate()
        proc.wait(30)
        raise
    tail = "".join(log[-5:]).strip()
    raise RuntimeError(f"the server did not start (exit {proc.wait()}): {tail}")


def run(args) -> dict:
    levels = [int(x) for x in args.streams.split(",")]
    session_s = args.session_s
    server, server_device = None, None  # an existing server (--server) does not say where it runs
    target = args.server
    if not target:
        server, target, server_device = start_server(args.model, args.untrained, max(levels), device=args.device)
    proc = psutil.Process(server.pid) if server else None
    audio = _audio(max(args.seconds, 60.0) if session_s else args.seconds, args.audio)
    rows = []
    try:
        for n in levels:
            row = asyncio.run(level(target, n, args.seconds, audio, proc, session_s))
            rows.append(row)
            print(f"  {n:4d} streams: partial p50 {row['partial_ms_p50']:.0f} ms p95 {row['partial_ms_p95']:.0f} ms, "
                  f"final p95 {row['final_ms_p95']:.0f} ms, errors {row['errors']}, server CPU "
                  f"{row['server_cpu_percent']}%", file=sys.stderr)
            if row["partial_ms_p95"] > args.p95_limit_ms * 2 or row["errors"]:
                break
    finally:
        if server:
            server.terminate()
            server.wait(30)
    ok = [r["streams"] for r in rows if r["partial_ms_p95"] <= args.p95_limit_ms and not r["errors"]]
    return {"target": target, "server_device": server_device, "chunk_ms": CHUNK_MS, "seconds_per_level": args.seconds,
            "session_s": list(session_s) if session_s else None,
            "p95_limit_ms": args.p95_limit_ms, "max_streams_sustained": max(ok) if ok else 0,
            "cpu_count": psutil.cpu_count(), "levels": rows}


def format_table(report: dict) -> str:
    lines = [f"most streams sustained with p95 partial latency <= {report['p95_limit_ms']:g} ms: "
             f"{report['max_streams_sustained']}"
             + (f" (the server on {report['server_device']})" if report["server_device"] else ""),
             f"streams last {report['session_s'][0]:g}-{report['session_s'][1]:g} s, back to back"
             if report["session_s"] else "every stream lasts the whole level: all end together",
             "| streams | partial p50 ms | partial p95 ms | finals | final p50 ms | final p95 ms | server CPU % | "
             "server memory MB | errors |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in report["levels"]:
        lines.append(f"| {r['streams']} | {r['partial_ms_p50']:.0f} | {r['partial_ms_p95']:.0f} | {r['finals']} | "
                     f"{r['final_ms_p50']:.0f} | {r['final_ms_p95']:.0f} | {r['server_cpu_percent']} | "
                     f"{r.get('server_mem_mb')} | {r['errors']} |")
    return "\n".join(lines)
