"""Preallocated streaming state for many streams.

One tensor per state entry of the model, `[slots, ...]`, allocated once on the model's
device (host-side counters stay on the CPU). A stream holds a slot id; a batched step
gathers the rows of any set of slots, runs one model step and scatters them back. A
released slot is reset to the model's initial state (not merely zeroed: some counters
start non-zero), so nothing of one stream leaks into the next.
"""

from __future__ import annotations

import threading

import torch

from .streaming import State, state_bytes


class PoolFull(RuntimeError):
    pass


class StatePool:
    def __init__(self, model, slots: int, device=None):
        self.slots = slots
        self.tensors: State = model.init_state(slots, device)
        self._initial: State = model.init_state(1, device)
        self._free = list(range(slots - 1, -1, -1))
        self._lock = threading.Lock()

    @property
    def in_use(self) -> int:
        return self.slots - len(self._free)

    def acquire(self) -> int:
        with self._lock:
            if not self._free:
                raise PoolFull(f"all {self.slots} stream slots are in use")
            return self._free.pop()

    def release(self, slot: int) -> None:
        with self._lock:
            if slot in self._free:
                return
            for k, t in self.tensors.items():
                t[slot].copy_(self._initial[k][0])
            self._free.append(slot)

    def _indices(self, slots: list[int]) -> dict:
        """The slot ids as an index tensor on each device the state lives on, built once a call."""
        return {d: torch.tensor(slots, dtype=torch.long, device=d) for d in {t.device for t in self.tensors.values()}}

    def gather(self, slots: list[int]) -> State:
        idx = self._indices(slots)
        return {k: t.index_select(0, idx[t.device]) for k, t in self.tensors.items()}

    def scatter(self, slots: list[int], state: State) -> None:
        idx = self._indices(slots)
        for k, t in self.tensors.items():
            t.index_copy_(0, idx[t.device], state[k].to(t.dtype))

    def bytes_per_stream(self) -> int:
        return state_bytes(self.tensors) // self.slots
