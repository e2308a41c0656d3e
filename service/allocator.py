"""Where the C allocator puts big buffers, so that freed ones go back to the OS (glibc only).

The server frees buffers of every size all the time: chunks, batched activations, the second
pass's whole-utterance tensors. glibc starts by mmapping buffers of 128 KiB and more (returned to
the OS on free), but each time such a buffer is freed it raises that threshold to the buffer's
size (up to 32 MiB), and from then on such buffers come from heap arenas, which give memory back
only from their top. Resident memory then saw-tooths about 10% above what is in use and creeps
(`wavestream bench soak`). A fixed threshold turns that adjustment off.
"""

from __future__ import annotations

import ctypes

M_MMAP_THRESHOLD = -3   # mallopt's parameter number (malloc.h)
MAX_KIB = 32 * 1024     # glibc refuses more on 64-bit (HEAP_MAX_SIZE / 2)


def fix_mmap_threshold(kib: int) -> bool:
    """Buffers of `kib` KiB or more are mmapped, whatever size was freed before. 0 leaves the
    allocator as it is. False where the C library has no mallopt (musl, macOS)."""
    if not 0 <= kib <= MAX_KIB:
        raise ValueError(f"mmap threshold must be 0 (the allocator's default) to {MAX_KIB} KiB, got {kib}")
    if kib == 0:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, kib * 1024) == 1
