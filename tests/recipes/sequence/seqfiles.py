"""User files with their own names and their own problems, for the seq-cls and forecast tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _signal(label: str, steps: int, rng: np.random.Generator) -> np.ndarray:
    """Two features: "up" climbs in ax, "down" falls (the order carries the class)."""
    ramp = np.linspace(0, 1, steps) if label == "up" else np.linspace(1, 0, steps)
    return np.stack([ramp, rng.normal(0, 0.1, steps)], 1) + rng.normal(0, 0.05, (steps, 2))


def class_folders(root: Path, per_class: int = 6, seed: int = 0) -> Path:
    """up/ and down/ folders of ragged sequences: CSVs with a shuffled time column (some with columns in another
    order, one with a NaN and one with a stray word), .npy arrays, and broken files to be skipped."""
    rng = np.random.default_rng(seed)
    for label in ("up", "down"):
        folder = root / label
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            values = _signal(label, int(rng.integers(5, 15)), rng)
            if i % 3 == 2:
                np.save(folder / f"s{i}.npy", values)
                continue
            order = rng.permutation(len(values))
            names = ["ax", "gy"] if i % 2 else ["gy", "ax"]
            rows = [",".join(["t", *names])]
            for step in order:
                cells = dict(zip(["ax", "gy"], (f"{v:.4f}" for v in values[step])))
                if i == 0 and step == 1:
                    cells["gy"] = "" if label == "up" else "oops"
                rows.append(",".join([str(step), *(cells[n] for n in names)]))
            (folder / f"s{i}.csv").write_text("\n".join(rows) + "\n")
    (root / "up" / "notes.txt").write_text("not a sequence")
    (root / "up" / "broken.npy").write_bytes(b"garbage")
    (root / "down" / "words.csv").write_text("t,ax,gy\n0,a,b\n1,c,d\n")
    (root / "down" / "wide.npy").write_bytes(b"")
    np.save(root / "down" / "three.npy", np.zeros((4, 3)))
    return root


def long_table(path: Path, per_class: int = 8, seed: int = 0) -> Path:
    """One table: `run` ids, a `ts` time column out of order, `activity` labels, `ax`/`gy` features and a text
    `site` column; ragged runs, a NaN, a run whose label changes and rows without an id."""
    rng = np.random.default_rng(seed)
    lines = ["run,ts,activity,site,ax,gy"]
    for n in range(2 * per_class):
        label = ("up", "down")[n % 2]
        values = _signal(label, int(rng.integers(4, 12)), rng)
        for step in rng.permutation(len(values)):
            ax = "" if (n == 3 and step == 2) else f"{values[step, 0]:.4f}"
            lines.append(f"r{n},{step},{label},north,{ax},{values[step, 1]:.4f}")
    lines += ["r99,0,up,north,0.1,0.2", "r99,1,down,north,0.2,0.1", ",0,up,north,0.3,0.3"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def gappy_series(path: Path, steps: int = 160, seed: int = 0) -> Path:
    """Daily `visits` with a weekly season and a `promo` covariate under a `day` column: missing days, a repeated
    day, a timestamp off the grid (noon), one that is not a date and an empty cell."""
    rng = np.random.default_rng(seed)
    days = np.arange(steps)
    promo = (days % 11 == 0).astype(float)
    visits = 50 + 0.1 * days + 8 * np.sin(2 * np.pi * days / 7) + 5 * promo + rng.normal(0, 1, steps)
    lines = ["day,visits,promo"]
    for day in days:
        if day in (20, 21, 22, 60):
            continue  # gaps: 3 days, then 1
        date = np.datetime64("2024-03-01") + int(day)
        cell = "" if day == 40 else f"{visits[day]:.3f}"
        lines.append(f"{date},{cell},{promo[day]:.0f}")
        if day == 30:
            lines.append(f"{date},{visits[day] + 1:.3f},{promo[day]:.0f}")  # the same day again
    lines.append(f"{np.datetime64('2024-03-01') + min(50, steps - 5)}T12:00:00,55.0,0")
    lines.append("soon,56.0,0")  # not a date: skipped and listed
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path
