"""The built-in sentences: commands, numbers and names from a deterministic generator, spoken by espeak-ng
(common/audio/espeak.py) across accents, voice variants, rates and pitches, with gain and noise augmentation. Test
and val voices are never heard in training, and no test sentence is a training one."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from aiaas_recipes.common.audio.espeak import ACCENTS, RATE, SPLIT_VARIANTS, render
from aiaas_recipes.common.data import builtin

BUILTINS = {"sentences": {"train": 2400, "val": 150, "test": 300}, "sentences-tiny": {"train": 24, "val": 6, "test": 6}}
# fmt: off
NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
           "fifteen", "twenty", "thirty", "forty", "fifty")
NAMES = ("alice", "bob", "carol", "david", "emma", "frank", "grace", "henry", "olivia", "peter", "sarah", "thomas",
         "maria", "james", "lucy", "oscar")
THINGS = ("lights", "music", "heater", "radio", "camera", "fan", "oven", "speaker", "alarm", "television")
ROOMS = ("kitchen", "garden", "office", "bedroom", "garage", "hallway", "bathroom", "library")
UNITS = ("seconds", "minutes", "hours", "days")
COLOURS = ("red", "green", "blue", "yellow", "white", "purple", "orange")
PLACES = ("station", "airport", "school", "market", "hospital", "museum", "beach")
# fmt: on
TEMPLATES = (
    "turn {on} the {thing} in the {room}",
    "call {name} at {number} {number}",
    "set a timer for {number} {unit}",
    "send a message to {name} and {name}",
    "play {colour} music in the {room}",
    "remind {name} to meet {name} at the {place}",
    "{name} has {number} {colour} {thing}",
    "how far is the {place} from the {place}",
    "move the {thing} to the {room} in {number} {unit}",
    "paint the {room} {colour}",
)
SLOTS = {
    "on": ("on", "off"), "thing": THINGS, "room": ROOMS, "name": NAMES, "number": NUMBERS, "unit": UNITS,
    "colour": COLOURS, "place": PLACES,
}  # fmt: skip


def sentence(rng: np.random.Generator) -> str:
    """One sentence: a random template with each slot filled at random."""
    words = []
    for word in TEMPLATES[int(rng.integers(len(TEMPLATES)))].split():
        slot = word.strip("{}")
        words.append(str(rng.choice(SLOTS[slot])) if word.startswith("{") else word)
    return " ".join(words)


def sentences(counts: dict[str, int], seed: int) -> dict[str, list[str]]:
    """Distinct sentences per split; val and test hold none of the training sentences."""
    rng, taken, out = np.random.default_rng(seed), set(), {}
    for split in ("train", "val", "test"):
        out[split] = []
        while len(out[split]) < counts[split]:
            text = sentence(rng)
            if text not in taken:
                taken.add(text)
                out[split].append(text)
    return out


def write_sentences(out_dir: Path, counts: dict[str, int], seed: int = 0, accents=ACCENTS) -> None:
    """``split/<i>.flac`` per sentence, each in a voice of its split's variants, and ``transcripts.csv``."""
    import soundfile

    rng = np.random.default_rng(seed + 1)
    rows = []
    for split, texts in sentences(counts, seed).items():
        (out_dir / split).mkdir(parents=True, exist_ok=True)
        for i, text in enumerate(texts):
            voice = f"{accents[int(rng.integers(len(accents)))]}+{rng.choice(SPLIT_VARIANTS[split])}"
            rate, pitch = int(rng.integers(130, 201)), int(rng.integers(25, 76))
            clip = render(text, voice, rate, pitch, rng)
            name = f"{split}/{i:05d}.flac"
            soundfile.write(out_dir / name, clip, RATE, subtype="PCM_16")
            rows.append({"path": name, "text": text, "split": split, "speaker": voice})
    with (out_dir / "transcripts.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["path", "text", "split", "speaker"])
        writer.writeheader()
        writer.writerows(rows)


def materialize(name: str) -> Path:
    """Write the built-in dataset ``name`` once; return its root (a folder with transcripts.csv)."""
    return builtin.materialize(name, BUILTINS, f"asr-{name}-v1", lambda temp: write_sentences(temp, BUILTINS[name]))
