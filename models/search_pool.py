"""Finals' lexicon searches in worker processes.

flashlight-text's search holds the GIL while it runs, so searches in threads take turns: when
many streams end together their finals wait for each other however many cores there are, and
while one runs, the event loop and the batched model step wait for the GIL too. Each worker
process holds its own LexiconSearch (its own copy of the LM; the workers import no torch).
Spawned, not forked: a fork would copy a process full of threads (gRPC's, torch's) mid-flight.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from .lexicon_search import LexiconSearch, Reading, SearchOptions

log = logging.getLogger(__name__)

_search: LexiconSearch | None = None
_error = ""


def _exit_with_parent() -> None:
    """A worker would outlive a server killed outright (SIGKILL, the OOM killer): the queue it waits
    on for work stays open in its sibling workers. So each one watches its parent and goes with it."""
    multiprocessing.connection.wait([multiprocessing.parent_process().sentinel])
    os._exit(0)


def _start_worker(chars: str, lm_path: str | None, lm_weight: float, word_score: float) -> None:
    threading.Thread(target=_exit_with_parent, name="exit-with-parent", daemon=True).start()
    # An initializer that raises breaks the whole pool with a bare "terminated abruptly":
    # keep the reason for _ready to report instead.
    global _search, _error
    try:
        _search = LexiconSearch(chars, lm_path, lm_weight, word_score)
    except Exception as e:  # noqa: BLE001 - reported to the parent, which refuses to start
        _error = f"{type(e).__name__}: {e}"


def _ready() -> str:
    return _error


def _run(log_probs: np.ndarray, vocabulary: tuple[str, ...], opts: SearchOptions, n: int) -> list[Reading]:
    return _search.search(log_probs, vocabulary, opts, n)


class SearchPool:
    """LexiconSearch.search in `workers` processes, for callers in many threads at once. A worker
    that dies (killed, out of memory) is replaced with the whole pool, and its search is run again."""

    def __init__(self, workers: int, chars: str, lm_path: str | None, lm_weight: float, word_score: float):
        if workers < 1:
            raise ValueError(f"a search pool needs at least one worker, got {workers}")
        self.workers = workers
        self.has_lm = lm_path is not None
        self._args = (chars, str(lm_path) if lm_path else None, lm_weight, word_score)
        self._lock = threading.Lock()
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        """A pool whose workers have all loaded their LM (the first calls wait for no one's start)."""
        pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start_worker, initargs=self._args)
        try:  # each submit that finds no idle worker starts one, so these start them all
            errors = {f.result() for f in [pool.submit(_ready) for _ in range(self.workers)]} - {""}
        except BrokenProcessPool:
            pool.shutdown(cancel_futures=True)
            raise RuntimeError("the beam search's worker processes died at start (a script that makes them "
                               "must do so under `if __name__ == '__main__':`, as multiprocessing's spawn "
                               "needs)") from None
        if errors:
            pool.shutdown(cancel_futures=True)
            raise ValueError(f"the beam search's worker processes could not load {self._args[1]}: {errors.pop()}")
        return pool

    def search(self, log_probs: np.ndarray, vocabulary: tuple[str, ...], opts: SearchOptions,
               n: int = 1) -> list[Reading]:
        for attempt in range(2):
            pool = self._pool
            try:
                return pool.submit(_run, log_probs, vocabulary, opts, n).result()
            except BrokenProcessPool:
                with self._lock:
                    if self._pool is pool:  # the first caller to see it replaces it; the rest use the new one
                        log.warning("a beam search worker process died; starting %d new ones", self.workers)
                        pool.shutdown(wait=False, cancel_futures=True)
                        self._pool = self._start()
        raise RuntimeError("the beam search's worker processes died twice on this utterance")

    def worker_pids(self) -> list[int]:
        """The workers' process ids (for monitoring; a replaced pool has new ones). The executor
        keeps its processes in `_processes`, with no public way to list them."""
        return sorted(p.pid for p in self._pool._processes.values())

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
