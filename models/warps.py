"""Test-time warps as a person writes them (a flag, an environment value): 'none', or vocal-tract-length warp
factors 'A,B,...' under which finals hear the audio (models.engine Recogniser.warps). Free of torch, so the server's
settings read them before any model loads."""

from __future__ import annotations

NONE = "none"
LOWEST, HIGHEST = 0.5, 2.0


def check_warps(warps: tuple[float, ...]) -> tuple[float, ...]:
    if not all(LOWEST <= a <= HIGHEST for a in warps):
        raise ValueError(f"warp factors are from {LOWEST:g} to {HIGHEST:g}, got {','.join(f'{a:g}' for a in warps)}")
    return tuple(warps)


def parse_warps(text: str) -> tuple[float, ...]:
    """'none' -> (), '0.9,1,1.1' -> (0.9, 1.0, 1.1); anything else is a ValueError saying what is."""
    if text.strip() == NONE:
        return ()
    try:
        warps = tuple(float(a) for a in text.split(","))
    except ValueError:
        raise ValueError(f"must be {NONE!r} or warp factors as A,B,... (e.g. 0.9,1,1.1), got {text!r}") from None
    return check_warps(warps)


def format_warps(warps: tuple[float, ...]) -> str:
    """What parse_warps reads back."""
    return ",".join(f"{a:g}" for a in warps) if warps else NONE
