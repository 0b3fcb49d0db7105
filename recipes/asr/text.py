"""Transcripts as characters (torch-free, shared by preprocessing, evaluation, `predict` and the service):
normalisation, the alphabet, and greedy CTC decoding."""

from __future__ import annotations

import re
import unicodedata

import numpy as np

BLANK = 0  # CTC's blank is class 0; alphabet[i] is class i + 1
_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Lower case, punctuation (except the apostrophe) dropped, single spaces: what the model learns to write."""
    text = unicodedata.normalize("NFC", text).lower().replace("\u2019", "'")
    kept = "".join(ch if ch == "'" or not unicodedata.category(ch).startswith(("P", "S", "C")) else " " for ch in text)
    return _SPACES.sub(" ", kept).strip()


def alphabet_of(texts: list[str]) -> list[str]:
    """Every character of the (normalised) training transcripts, space first, then sorted."""
    chars = sorted({ch for text in texts for ch in text} - {" "})
    return [" ", *chars]


def encode(text: str, alphabet: list[str]) -> list[int]:
    """Class ids of ``text``'s characters; characters outside the alphabet are dropped."""
    index = {ch: i + 1 for i, ch in enumerate(alphabet)}
    return [index[ch] for ch in text if ch in index]


def greedy_decode(log_probs: np.ndarray, length: int, alphabet: list[str]) -> str:
    """Best class per frame over the first ``length`` frames, repeats merged, blanks dropped."""
    best = np.asarray(log_probs)[: int(length)].argmax(-1)
    keep = best[(best != BLANK) & np.concatenate([[True], best[1:] != best[:-1]])]
    return _SPACES.sub(" ", "".join(alphabet[i - 1] for i in keep)).strip()


def greedy_words(
    log_probs: np.ndarray, length: int, alphabet: list[str], seconds_per_frame: float, offset: float = 0.0
):
    """The greedy transcript's words with the times of their first and last emitted characters:
    [{"word", "start_s", "end_s"}], times from ``offset`` seconds."""
    best = np.asarray(log_probs)[: int(length)].argmax(-1)
    emitted = np.flatnonzero((best != BLANK) & np.concatenate([[True], best[1:] != best[:-1]]))
    words, current = [], []
    for frame in [*emitted.tolist(), None]:
        char = alphabet[best[frame] - 1] if frame is not None else " "
        if char != " ":
            current.append((frame, char))
        elif current:
            start, end = current[0][0] * seconds_per_frame, (current[-1][0] + 1) * seconds_per_frame
            word = "".join(c for _, c in current)
            words.append({"word": word, "start_s": round(offset + start, 2), "end_s": round(offset + end, 2)})
            current = []
    return words


def output_frames(frames):
    """Frames the network emits for ``frames`` input frames (an int, array or tensor): its front end halves time
    twice (two convs of stride 2, with padding that keeps the last partial step)."""
    return ((frames - 1) // 2) // 2 + 1


STRIDE = 4  # input frames per output frame (see output_frames)
