"""The built-in speech corpus: a few hundred generated English sentences spoken by espeak-ng in ONE voice, written
once in the LJSpeech layout (wavs/ + metadata.csv), so it goes through the same reader as a user's corpus. A model
trained on it imitates espeak-ng's voice, nothing more."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aiaas_recipes.common.data import builtin

BUILTINS = ("espeak",)
VOICE, RATE_WPM, PITCH = "en-us", 165, 50
SUBJECTS = (
    "the old farmer", "a young doctor", "my sister", "the pilot", "our teacher", "the small dog", "a tall man",
    "the singer", "his brother", "the captain", "a quiet student", "the baker", "her friend", "the driver",
)  # fmt: skip
VERBS = (
    "found", "painted", "carried", "opened", "sold", "bought", "watched", "cleaned", "lost", "fixed", "moved",
    "visited", "counted", "wanted",
)  # fmt: skip
OBJECTS = (
    "a red boat", "the green door", "three apples", "the heavy box", "a new bicycle", "the wooden chair",
    "seven books", "the broken clock", "a silver ring", "the yellow kite", "two letters", "the garden gate",
)  # fmt: skip
PLACES = (
    "near the river", "in the morning", "after dinner", "at the station", "before the storm", "on Main St.",
    "in the kitchen", "by the lake", "during the game", "under the bridge",
)  # fmt: skip
EXTRAS = ("for $12", "on May 3", "at 7 o'clock", "with Dr. Brown", "in 1984", "for 25 minutes", "")


def sentence(rng: np.random.Generator) -> str:
    """One sentence: subject, verb, object, a place, sometimes a number or an abbreviation, a final mark."""
    words = [rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(OBJECTS)]
    if rng.random() < 0.6:
        words[-1] += ","
        words.append(rng.choice(PLACES))
    extra = rng.choice(EXTRAS)
    if extra and rng.random() < 0.4:
        words.append(extra)
    mark = rng.choice([".", ".", ".", "?", "!"])
    text = " ".join(words) + mark
    return text[0].upper() + text[1:]


def write_corpus(out_dir: Path, count: int, seed: int = 0, voice_name: str = VOICE) -> None:
    """``wavs/tts_NNNN.wav`` (espeak's 22.05 kHz, 16-bit) and ``metadata.csv`` (id|text|normalized), spoken by the
    espeak-ng voice ``voice_name``."""
    import soundfile

    from aiaas_recipes.common.audio.espeak import speaker
    from aiaas_recipes.tts.text import normalize

    rng, voice = np.random.default_rng(seed), speaker()
    (out_dir / "wavs").mkdir(parents=True, exist_ok=True)
    lines, seen = [], set()
    while len(lines) < count:
        text = sentence(rng)
        if text in seen:
            continue
        seen.add(text)
        name = f"tts_{len(lines):04d}"
        samples = voice.say(text, voice_name, RATE_WPM, PITCH)
        soundfile.write(out_dir / "wavs" / f"{name}.wav", samples, voice.rate, subtype="PCM_16")
        lines.append(f"{name}|{text}|{normalize(text)}")
    (out_dir / "metadata.csv").write_text("\n".join(lines) + "\n")


def materialize(name: str, count: int) -> Path:
    """Write the built-in corpus ``name`` of ``count`` sentences once; return its root."""
    return builtin.materialize(name, BUILTINS, f"tts-{name}-{count}-v1", lambda temp: write_corpus(temp, count))
