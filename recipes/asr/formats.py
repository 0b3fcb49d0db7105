"""File names that hold audio (torch-free): what a folder's transcript pairs and `aiaas predict` look at."""

from __future__ import annotations

from pathlib import Path

# libsndfile reads the first ones; M4A/AAC/WMA are listed so that they are reported (convert with ffmpeg)
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".mp3", ".aiff", ".aif", ".au", ".m4a", ".aac", ".wma", ".opus"}


def audio_files(paths: list[Path]) -> list[Path]:
    """The paths with an audio suffix; all of them when none has one (each then gets its own error line)."""
    audio = [p for p in paths if Path(p).suffix.lower() in AUDIO_SUFFIXES]
    return audio or list(paths)
