"""Gathers the pending chunks of many streams into one batched model step.

Sessions `await submit(stream, samples)`; one worker takes what is queued (waiting up to
`max_wait_ms` for a batch to fill, at most `max_batch` streams, each stream once per step),
runs `Recogniser.step` in its own thread so the event loop keeps serving, and resolves each
session's future with its own result. The thread is the scheduler's alone: finals and file
passes run in asyncio's shared pool, and a burst of them must not leave partials waiting
for a free thread.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from models.engine import Recogniser, RecogniserStream, StepResult

from . import metrics


@dataclass
class Timed:
    result: StepResult
    queue_ms: float
    compute_ms: float


class Scheduler:
    def __init__(self, recogniser: Recogniser, max_batch: int = 64, max_wait_ms: float = 5.0):
        self.rec = recogniser
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000
        self._queue: asyncio.Queue | None = None
        self._worker: asyncio.Task | None = None
        self._thread: ThreadPoolExecutor | None = None

    def start(self) -> None:
        self._queue = asyncio.Queue()
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="wavestream-step")
        self._worker = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._worker:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
        if self._thread:
            self._thread.shutdown(wait=False)

    async def submit(self, stream: RecogniserStream, samples: np.ndarray) -> Timed:
        fut = asyncio.get_running_loop().create_future()
        await self._queue.put((stream, samples, fut, time.perf_counter()))
        return await fut

    async def _run(self) -> None:
        deferred: list = []
        while True:
            first = deferred.pop(0) if deferred else await self._queue.get()
            batch = [first]
            deadline = time.perf_counter() + self.max_wait
            while len(batch) < self.max_batch:
                if deferred:
                    item = deferred.pop(0)
                else:
                    timeout = deadline - time.perf_counter()
                    if timeout <= 0 and self._queue.empty():
                        break
                    try:
                        item = self._queue.get_nowait() if timeout <= 0 else await asyncio.wait_for(self._queue.get(), timeout)
                    except (asyncio.TimeoutError, asyncio.QueueEmpty):
                        break
                if any(item[0] is b[0] for b in batch):
                    deferred.append(item)  # a stream's next chunk waits for the next step
                    if len(deferred) > self.max_batch:
                        break
                else:
                    batch.append(item)
            # Abandoned requests drop out here; a stream that closes later is skipped by the step itself.
            live = [b for b in batch if not b[2].cancelled()]
            if not live:
                continue
            started = time.perf_counter()
            try:
                results = await asyncio.get_running_loop().run_in_executor(
                    self._thread, self.rec.step, [(b[0], b[1]) for b in live])
            except Exception as e:  # a failed step fails its own requests, never the worker
                for b in live:
                    if not b[2].done():
                        b[2].set_exception(e)
                continue
            compute_ms = (time.perf_counter() - started) * 1000
            metrics.STEP_SECONDS.observe(compute_ms / 1000)
            metrics.BATCH_SIZE.observe(len(live))
            for b, r in zip(live, results):
                if b[2].done():
                    continue
                if r is None:  # its stream closed while the step ran: nobody is waiting for it
                    b[2].cancel()
                else:
                    b[2].set_result(Timed(r, (started - b[3]) * 1000, compute_ms))
