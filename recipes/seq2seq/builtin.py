"""The built-in data, generated offline and deterministically (seeded):

- ``numbers``: cardinals, dates, times and euro amounts written out in words in English, French, German or Spanish
  (num2words), 1 to 3 per line, to be written in digits ("le 21 mars deux mille cinq ; quarante-deux" ->
  "2005-03-21 ; 42"). A model learns to read numbers in words; it knows nothing else.
- ``summaries``: short made-up biographies (a folder of doc.txt + doc.summary) whose one-line summary gathers facts
  scattered through the document, so the target is recoverable from the source and lead-N sentences fall short.

No test source is also a training source.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from aiaas_recipes.common.data import builtin

SIZES = {
    "numbers": {"train": 8000, "val": 300, "test": 500},
    "numbers-tiny": {"train": 40, "val": 8, "test": 8},
    "summaries": {"train": 1200, "val": 100, "test": 150},
}
LANGS = ("en", "fr", "de", "es")
# fmt: off
MONTHS = {
    "en": "January February March April May June July August September October November December",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
}
NAMES = ("Anna", "Ben", "Clara", "Daniel", "Elif", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kaya", "Luca", "Mila",
         "Noah", "Olga", "Pavel", "Rosa", "Sami", "Tara", "Umar")
CITIES = ("Berlin", "Lisbon", "Oslo", "Madrid", "Lyon", "Krakow", "Porto", "Vienna", "Turin", "Ghent", "Leeds", "Bern")
JOBS = ("baker", "nurse", "pilot", "teacher", "carpenter", "chemist", "gardener", "architect", "plumber", "violinist")
HOBBIES = ("chess", "sailing", "pottery", "climbing", "birdwatching", "cycling", "painting", "running", "knitting")
FILLER = ("The weather was mild that year.", "Many people in the area know the family.", "The street is quiet.",
          "Local newspapers wrote about it once.", "Friends describe the house as bright.",
          "There is a small park nearby.", "The neighbours are friendly.", "Trains to the coast leave every hour.")
# fmt: on


def _words(value, lang: str, **kwargs) -> str:
    from num2words import num2words

    return num2words(value, lang=lang, **kwargs)


def _date(rng: np.random.Generator, lang: str) -> tuple[str, str]:
    year, month, day = int(rng.integers(1900, 2100)), int(rng.integers(1, 13)), int(rng.integers(1, 29))
    name, year_words = MONTHS[lang].split()[month - 1], _words(year, lang, to="year")
    text = {
        "en": f"the {_words(day, lang, to='ordinal')} of {name} {year_words}",
        "fr": f"le {'premier' if day == 1 else _words(day, lang)} {name} {year_words}",
        "de": f"der {_words(day, lang, to='ordinal')} {name} {year_words}",
        "es": f"el {_words(day, lang)} de {name} de {year_words}",
    }[lang]
    return text, f"{year:04d}-{month:02d}-{day:02d}"


def _time(rng: np.random.Generator, lang: str) -> tuple[str, str]:
    hour, minute = int(rng.integers(0, 24)), int(rng.choice([0, int(rng.integers(1, 60))]))
    h, m = _words(hour, lang), _words(minute, lang)
    plain = {"en": f"{h} o'clock", "fr": f"{h} heures", "de": f"{h} Uhr", "es": f"las {h} en punto"}
    full = {"en": f"{h} hours and {m} minutes", "fr": f"{h} heures {m}", "de": f"{h} Uhr {m}", "es": f"las {h} y {m}"}
    return (plain if minute == 0 else full)[lang], f"{hour:02d}:{minute:02d}"


def _amount(rng: np.random.Generator, lang: str) -> tuple[str, str]:
    euros, cents = int(rng.integers(1, 10000)), int(rng.choice([0, int(rng.integers(1, 100))]))
    return _words(euros + cents / 100, lang, to="currency", currency="EUR"), f"{euros}.{cents:02d} EUR"


def _cardinal(rng: np.random.Generator, lang: str) -> tuple[str, str]:
    value = int(rng.choice([rng.integers(0, 100), rng.integers(100, 1000), rng.integers(1000, 100000)]))
    return _words(value, lang), str(value)


KINDS = (_cardinal, _date, _time, _amount)


def number_pair(rng: np.random.Generator) -> tuple[str, str]:
    """One line of 1 to 3 items, all in one language, and the same items in digits."""
    lang = LANGS[int(rng.integers(len(LANGS)))]
    items = [KINDS[int(rng.integers(len(KINDS)))](rng, lang) for _ in range(int(rng.integers(1, 4)))]
    return " ; ".join(words for words, _ in items), " ; ".join(digits for _, digits in items)


def write_numbers(path: Path, sizes: dict[str, int], seed: int = 0) -> Path:
    """A TSV (source, target, split) of ``sizes`` lines per split; no source twice."""
    rng, seen = np.random.default_rng(seed), set()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["source", "target", "split"])
        for split, count in sizes.items():
            written = 0
            while written < count:
                source, target = number_pair(rng)
                if source not in seen:
                    seen.add(source)
                    writer.writerow([source, target, split])
                    written += 1
    return path


def biography(rng: np.random.Generator) -> tuple[str, str]:
    """A document of facts and filler in a shuffled order, and the summary that gathers the facts."""
    name, city, job = (str(rng.choice(options)) for options in (NAMES, CITIES, JOBS))
    hobby, year = str(rng.choice(HOBBIES)), int(rng.integers(1960, 2020))
    facts = [
        f"{name} lives in {city}.",
        f"By trade, {name} is a {job}.",
        f"{name} began working in {year}.",
        f"In free hours {name} enjoys {hobby}.",
    ]
    sentences = facts + [str(s) for s in rng.choice(FILLER, size=int(rng.integers(2, 5)), replace=False)]
    order = rng.permutation(len(sentences))
    return " ".join(sentences[i] for i in order), f"{name} is a {job} from {city} since {year} who enjoys {hobby}."


def write_summaries(root: Path, sizes: dict[str, int], seed: int = 0) -> Path:
    """split/NNNNN.txt with NNNNN.summary beside, ``sizes`` documents per split."""
    rng, seen = np.random.default_rng(seed), set()
    for split, count in sizes.items():
        folder = root / split
        folder.mkdir(parents=True, exist_ok=True)
        written = 0
        while written < count:
            doc, summary = biography(rng)
            if doc in seen:
                continue
            seen.add(doc)
            (folder / f"{written:05d}.txt").write_text(doc + "\n", encoding="utf-8")
            (folder / f"{written:05d}.summary").write_text(summary + "\n", encoding="utf-8")
            written += 1
    return root


def materialize(name: str) -> Path:
    """The built-in dataset ``name``'s file or folder, generated once into the workspace."""

    def write(folder: Path) -> None:
        if name == "summaries":
            write_summaries(folder / "docs", SIZES[name])
        else:
            write_numbers(folder / "pairs.tsv", SIZES[name])

    root = builtin.materialize(name, SIZES, f"seq2seq-{name}-v1", write)
    return root / ("docs" if name == "summaries" else "pairs.tsv")
