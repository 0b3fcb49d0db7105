"""Text to phoneme tokens (torch-free, shared by preprocess, `predict` and the service): normalisation of numbers,
abbreviations and symbols, then IPA phonemes from espeak-ng with stress marks and punctuation kept as tokens."""

from __future__ import annotations

import ctypes
import re
import threading
from functools import lru_cache

PAD, UNK, SPACE = "<pad>", "<unk>", " "
PUNCTUATION = ",.;:!?-"
ABBREVIATIONS = {
    "mr": "mister", "mrs": "missus", "ms": "miss", "dr": "doctor", "st": "saint", "co": "company",
    "jr": "junior", "sr": "senior", "lt": "lieutenant", "prof": "professor", "vs": "versus", "etc": "et cetera",
    "no": "number", "ft": "fort", "gen": "general", "capt": "captain", "sgt": "sergeant",
}  # fmt: skip
SYMBOLS = {"%": " percent", "&": " and ", "+": " plus ", "@": " at ", "=": " equals "}
ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
ONES = (ONES + "seventeen eighteen nineteen").split()
TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_ABBREVIATION = re.compile(r"\b(" + "|".join(ABBREVIATIONS) + r")\.", re.IGNORECASE)
_MONEY = re.compile(r"\$(\d+)(?:\.(\d\d))?")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_CLAUSE = re.compile(r"([" + re.escape(PUNCTUATION) + r"]+)")


def say_number(n: int) -> str:
    """English words for 0 <= n < 10**12."""
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])
    for size, word in ((10**9, "billion"), (10**6, "million"), (1000, "thousand"), (100, "hundred")):
        if n >= size:
            rest = n % size
            return f"{say_number(n // size)} {word}" + (f" {say_number(rest)}" if rest else "")
    raise AssertionError("unreachable")


def _number(match: re.Match) -> str:
    whole, _, fraction = match.group(0).partition(".")
    if len(whole) > 12:
        return " ".join(ONES[int(d)] for d in whole)
    words = say_number(int(whole))
    return words + (" point " + " ".join(ONES[int(d)] for d in fraction) if fraction else "")


def _money(match: re.Match) -> str:
    dollars = f"{match.group(1)} dollar" + ("" if match.group(1) == "1" else "s")
    cents = match.group(2)
    return dollars + (f" {int(cents)} cents" if cents and int(cents) else "")


def normalize(text: str) -> str:
    """Spoken-form English: abbreviations, money, numbers and symbols as words; whitespace collapsed."""
    text = _ABBREVIATION.sub(lambda m: ABBREVIATIONS[m.group(1).lower()], text)
    text = _MONEY.sub(_money, text.replace(",000", "000"))
    text = _NUMBER.sub(_number, text)
    for symbol, words in SYMBOLS.items():
        text = text.replace(symbol, words)
    text = re.sub(r"[\"()\[\]{}*_/\\<>#~^|`]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


class Phonemizer:
    """IPA phonemes from libespeak-ng (the espeakng-loader wheel), one voice; safe to call from several threads."""

    def __init__(self, voice: str) -> None:
        from aiaas_recipes.common.audio.espeak import speaker

        self.lib = speaker().lib  # libespeak-ng is one per process: share the built-in datasets' instance
        self.lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        self.lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
        self.voice = voice.encode()
        self.lock = threading.Lock()

    def clause(self, text: str) -> str:
        """The IPA of a clause without punctuation (espeak drops it), words separated by spaces."""
        buffer = ctypes.create_string_buffer(text.encode())
        pointer = ctypes.c_void_p(ctypes.addressof(buffer))
        parts = []
        with self.lock:
            self.lib.espeak_SetVoiceByName(self.voice)
            while pointer.value:
                parts.append(self.lib.espeak_TextToPhonemes(ctypes.byref(pointer), 1, 2).decode())  # 1: UTF-8, 2: IPA
        return " ".join(p.strip() for p in parts if p.strip())


@lru_cache(maxsize=4)
def phonemizer(voice: str) -> Phonemizer:
    return Phonemizer(voice)


def tokens(text: str, voice: str) -> list[str]:
    """Phoneme tokens of raw text: one per IPA character (stress marks included), a space between words and each
    punctuation mark of the text as its own token, so the model hears pauses where the text has them."""
    found: list[str] = []
    for piece in _CLAUSE.split(normalize(text)):
        if not piece.strip():
            continue
        if _CLAUSE.fullmatch(piece):
            found.extend(mark for mark in piece if mark in PUNCTUATION)
            continue
        ipa = phonemizer(voice).clause(piece)
        if ipa:
            if found and found[-1] not in PUNCTUATION:
                found.append(SPACE)
            found.extend(ipa)
    return found


def encode(symbols: list[str], vocabulary: list[str]) -> list[int]:
    """Token ids (unknown symbols -> the <unk> id)."""
    index = {symbol: i for i, symbol in enumerate(vocabulary)}
    return [index.get(symbol, index[UNK]) for symbol in symbols]
