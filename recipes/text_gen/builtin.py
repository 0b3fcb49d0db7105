"""The built-in instruction set: generated, deterministic and offline, with short answers that can be checked
exactly (arithmetic, unit conversion, date questions, simple lookups). Each question has several wordings; the
held-out split holds wordings never seen in training (the facts behind them may be), so exact match measures
whether a model follows the instruction, not whether it memorised the string."""

from __future__ import annotations

import random

DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]  # fmt: skip
CAPITALS = {"France": "Paris", "Italy": "Rome", "Spain": "Madrid", "Japan": "Tokyo", "Egypt": "Cairo",
            "Peru": "Lima", "Kenya": "Nairobi", "Norway": "Oslo", "Chile": "Santiago", "Cuba": "Havana"}  # fmt: skip
COLOURS = {"grass": "green", "the sky": "blue", "snow": "white", "coal": "black", "a banana": "yellow",
           "a tomato": "red", "an orange": "orange", "a carrot": "orange"}  # fmt: skip
UNITS = [("meters", "centimeters", 100), ("kilograms", "grams", 1000), ("kilometers", "meters", 1000),
         ("minutes", "seconds", 60), ("hours", "minutes", 60)]  # fmt: skip

ADD = ["What is {a} plus {b}?", "Add {a} and {b}.", "Compute {a} + {b}.", "What is the sum of {a} and {b}?"]
SUB = ["What is {a} minus {b}?", "Subtract {b} from {a}.", "Compute {a} - {b}."]
CONVERT = ["How many {small} are in {n} {big}?", "Convert {n} {big} to {small}.", "{n} {big} is how many {small}?"]
DAY = ["What day comes {way} {x}?", "Which day is {way} {x}?", "Name the day {way} {x}."]
MONTH = ["What month comes {way} {x}?", "Which month is {way} {x}?", "Name the month {way} {x}."]
CAPITAL = ["What is the capital of {c}?", "Name the capital city of {c}.", "Which city is the capital of {c}?"]
COLOUR = ["What colour is {t}?", "Name the colour of {t}.", "Which colour is {t}?"]


def _items(rng: random.Random) -> list[tuple[str, str, str]]:
    """(task, question, answer) for every wording of every question, shuffled."""
    items: list[tuple[str, str, str]] = []
    for a in range(10):
        for b in range(10):
            items += [("add", t.format(a=a, b=b), str(a + b)) for t in ADD]
            if a >= b:
                items += [("sub", t.format(a=a, b=b), str(a - b)) for t in SUB]
    for big, small, factor in UNITS:
        for n in range(1, 10):
            items += [("convert", t.format(n=n, big=big, small=small), str(n * factor)) for t in CONVERT]
    for names, wordings in ((DAYS, DAY), (MONTHS, MONTH)):
        for i, x in enumerate(names):
            for way, step in (("after", 1), ("before", -1)):
                items += [("date", t.format(way=way, x=x), names[(i + step) % len(names)]) for t in wordings]
    for country, city in CAPITALS.items():
        items += [("lookup", t.format(c=country), city) for t in CAPITAL]
    for thing, colour in COLOURS.items():
        items += [("lookup", t.format(t=thing), colour) for t in COLOUR]
    rng.shuffle(items)
    return items


def instructions(seed: int = 0, test: float = 0.1, val: float = 0.05, limit: int | None = None) -> dict[str, list]:
    """{"train"|"val"|"test": [{"prompt", "completion", "task"}]}: a seeded split of every generated question.
    ``limit``: at most this many train rows (quick runs); val/test keep their share of the full set."""
    items = _items(random.Random(seed))
    n_test, n_val = int(len(items) * test), int(len(items) * val)
    splits = {"test": items[:n_test], "val": items[n_test : n_test + n_val], "train": items[n_test + n_val :]}
    if limit is not None:
        splits = {name: rows[: int(limit)] for name, rows in splits.items()}
    return {
        name: [{"prompt": q, "completion": a, "task": task} for task, q, a in rows] for name, rows in splits.items()
    }
