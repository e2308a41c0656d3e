"""The blend's delay as a person writes it (a flag, an environment value, a recipe's file name):
whole frames, or 'matched' (None in code: found per recording, models.blend.matched_delay). Free of
torch, so the server's settings read it before any model loads."""

from __future__ import annotations

MATCHED = "matched"


def parse_delay(text: str) -> int | None:
    """'3' -> 3, 'matched' -> None; anything else (a negative, a word) is a ValueError saying what is."""
    if text.strip() == MATCHED:
        return None
    try:
        frames = int(text)
    except ValueError:
        frames = -1
    if frames < 0:
        raise ValueError(f"must be 0 or more frames, or {MATCHED!r}, got {text!r}")
    return frames


def format_delay(frames: int | None) -> str:
    """What parse_delay reads back: the frames, or 'matched'."""
    return MATCHED if frames is None else str(frames)
