"""Which files are audio: the suffixes soundfile (libsndfile) decodes.

Free of torch, so `wavestream transcribe` (a client) lists folders by the same rule as training's
noise and impulse-response folders and the recipe's packing."""

from __future__ import annotations

from pathlib import Path

AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".au", ".w64", ".caf"})


def is_audio_file(path: Path) -> bool:
    return path.suffix.lower() in AUDIO_SUFFIXES and path.is_file()


def audio_files(folder: str | Path, recursive: bool = False) -> list[Path]:
    """The audio files in a folder (with `recursive`, in its subfolders too), sorted."""
    folder = Path(folder)
    return sorted(f for f in (folder.rglob("*") if recursive else folder.iterdir()) if is_audio_file(f))
