"""Generated tables for the tabular tests: a messy "real-world" export and small clean ones.

The messy table has what real exports have: an ID column, a reference code unique per row, a constant
column, missing values in several spellings, a yes/no column in mixed case, a date column, category
variants that differ only by case or spaces, an unreadable number, label-less rows and a broken line.
Its target depends on age, membership and city, so a model can learn it.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

MISSING_SPELLINGS = ["", "NA", "N/A", "?", "null"]
CITIES = ["Paris", "Lyon", "Orléans", "Nantes"]
CITY_VARIANTS = {"Paris": ["paris", "PARIS ", " Paris"], "Lyon": ["lyon"]}
HEADER = ["customer_id", "ref", "age", "income", "city", "member", "signup", "country", "plan", "churn", "spend"]
UNSEEN_CITY = "Marseille"  # never in the table: a served model must still answer


def messy_rows(n: int = 240, seed: int = 0) -> list[list[str]]:
    """Rows of text cells (header first); the last column pair is the classification/regression target."""
    rng = np.random.default_rng(seed)
    rows = [HEADER]
    for i in range(n):
        age = rng.integers(18, 80)
        member = rng.random() < 0.5
        city = CITIES[rng.integers(len(CITIES))]
        income = rng.normal(3000, 800)
        score = (age - 45) / 15 + (1.2 if member else -0.6) + (0.8 if city == "Paris" else 0) + rng.normal(0, 0.4)
        spend = 100 + 3 * age + (80 if member else 0) + (50 if city == "Paris" else 0) + rng.normal(0, 10)
        cells = {
            "customer_id": str(1000 + i),
            "ref": f"R-{rng.integers(10**8):08d}-{i}",
            "age": str(age),
            "income": f"{income:.2f}",
            "city": city,
            "member": rng.choice(["yes", "Yes", "YES"]) if member else rng.choice(["no", "No", "NO"]),
            "signup": f"20{rng.integers(15, 24)}-{rng.integers(1, 13):02d}-{rng.integers(1, 29):02d}",
            "country": "FR",
            "plan": f"P{rng.integers(0, 3)}",
            "churn": "yes" if score > 0 else "no",
            "spend": f"{spend:.1f}",
        }
        if city in CITY_VARIANTS and rng.random() < 0.3:
            cells["city"] = str(rng.choice(CITY_VARIANTS[city]))
        for column in ("age", "income", "signup"):
            if rng.random() < 0.08:
                cells[column] = str(rng.choice(MISSING_SPELLINGS))
        rows.append([cells[h] for h in HEADER])
    rows[5][HEADER.index("income")] = "12a"  # unreadable number
    for row, spelling in zip(rows[10:15], MISSING_SPELLINGS):  # label-less rows
        row[HEADER.index("churn")] = spelling
        row[HEADER.index("spend")] = spelling
    rows[20][HEADER.index("spend")] = "about 300"  # a regression target that is not a number
    return rows


def write_messy(path: Path, n: int = 240, seed: int = 0, delimiter: str = ";", encoding: str = "cp1252") -> Path:
    """The messy table as a semicolon-separated cp1252 file (the delimiter and encoding must be sniffed)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    rows = messy_rows(n, seed)
    writer.writerows(rows[:30])
    buffer.write(delimiter.join(["1", "2", "3"]) + "\n")  # a broken line: 3 fields
    writer.writerows(rows[30:])
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_csv(path: Path, columns: dict[str, list], delimiter: str = ",") -> Path:
    """A small clean table from columns of values."""
    names = list(columns)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(names)
        writer.writerows(zip(*(columns[n] for n in names)))
    return path


def clean_columns(n: int = 120, seed: int = 0) -> dict[str, list]:
    """Two numbers, a category and a 3-class target that depends on them."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    color = rng.choice(["red", "green", "blue"], size=n)
    score = x1 + 0.5 * x2 + (color == "red")
    label = np.where(score > 0.8, "high", np.where(score > -0.3, "mid", "low"))
    return {"x1": x1.round(4).tolist(), "x2": x2.round(4).tolist(), "color": color.tolist(), "label": label.tolist()}


def new_rows(folder: Path) -> Path:
    """Rows to predict: an unseen city, missing optional values in two spellings, extra columns (ID, target)."""
    rows = {
        "customer_id": ["9001", "9002", "9003"],
        "age": ["33", "NA", "71"],
        "income": ["2500.5", "", "4100"],
        "city": [UNSEEN_CITY, "paris", "Lyon"],
        "member": ["yes", "No", "YES"],
        "signup": ["2023-05-01", "?", "2019-12-31"],
        "plan": ["P1", "P2", "P9"],
        "churn": ["", "", ""],
    }
    return write_csv(folder / "new.csv", rows)
