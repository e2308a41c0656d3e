"""Many recordings streamed at once, their chunks stepped together in one batched model step each
round, as the server's scheduler steps its live streams (`wavestream eval --streaming --jobs N`).

A stream's step is a few small tensor operations, so one at a time its cost is mostly the
interpreter's; N streams in one step pay that once. Each recording is read exactly as alone:
the batched step masks past each chunk's length, and finals are decoded stream by stream.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

from .beam import Constraint
from .engine import Recogniser, RecogniserStream


@dataclass(eq=False)  # each feed is itself (it holds an array)
class _Feed:
    stream: RecogniserStream
    samples: np.ndarray
    fed: Future = field(default_factory=Future)  # done when every chunk has been stepped
    position: int = 0


class BatchedStreams:
    """`transcribe(samples)` from any number of threads: each call's audio is streamed in chunks of
    `chunk` samples beside every other call's, and its final returned. Each call holds one of the
    recogniser's state slots while its audio is stepped."""

    def __init__(self, rec: Recogniser, chunk: int, constraint: Constraint | None = None):
        if chunk < 1:
            raise ValueError(f"chunk must be at least one sample, got {chunk}")
        self.rec, self.chunk, self.constraint = rec, chunk, constraint
        self._wake = threading.Condition()
        self._feeding: list[_Feed] = []
        self._closed = False
        self._stepper = threading.Thread(target=self._step_all, name="batched-streams", daemon=True)
        self._stepper.start()

    def transcribe(self, samples: np.ndarray) -> str:
        with self.rec.open_stream(self.constraint) as stream:
            if len(samples):
                feed = _Feed(stream, samples)
                with self._wake:
                    if self._closed:
                        raise RuntimeError("BatchedStreams is closed")
                    self._feeding.append(feed)
                    self._wake.notify()
                feed.fed.result()
            # the end pad, the held-back frames and the final (its search) in the caller's thread,
            # while the stepper goes on with the others
            return stream.finish().text

    def _step_all(self) -> None:
        while True:
            with self._wake:
                while not self._feeding and not self._closed:
                    self._wake.wait()
                if self._closed:
                    for f in self._feeding:
                        f.fed.set_exception(RuntimeError("BatchedStreams closed before the audio was read"))
                    return
                feeding = list(self._feeding)
            error = None
            try:
                self.rec.step([(f.stream, f.samples[f.position:f.position + self.chunk]) for f in feeding])
            except Exception as e:  # noqa: BLE001 - every caller in this step gets the error
                error = e
            for f in feeding:
                f.position += self.chunk
            done = [f for f in feeding if error or f.position >= len(f.samples)]
            if done:
                with self._wake:
                    self._feeding = [f for f in self._feeding if f not in done]
            for f in done:
                f.fed.set_exception(error) if error else f.fed.set_result(None)

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._stepper.join()
