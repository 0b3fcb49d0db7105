"""Source/target pairs from the layouts people have: a TSV/CSV table, JSONL records, Moses-style parallel files
(train.en + train.de, line-aligned, in one folder) and a folder of documents (doc.txt with doc.summary beside).

Every reader yields `Pair`s and appends what it cannot use to ``skipped`` ({"file": "name:line", "reason"}): a line
that is not UTF-8, an empty side, a broken table row, lines of one Moses file without a partner in the other. Length
limits are checked later (dataset.py), once the tokenizer is known.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiaas_recipes.common.data.splits import SPLIT_NAMES

FORMATS = ("tsv", "csv", "jsonl", "moses", "summaries")
SOURCE_FIELDS = ("source", "src", "input", "text", "document", "article", "question")
TARGET_FIELDS = ("target", "tgt", "output", "summary", "translation", "answer", "label")
MOSES_SPLITS = {**SPLIT_NAMES, "dev": "val", "tst": "test", "newstest": "test"}


@dataclass
class Pair:
    source: str
    target: str
    where: str  # "file:line", for reports
    split: str | None = None  # named by the data (a split column, a file prefix); None: carved out later


def detect_format(path: Path) -> str:
    """The layout of ``path``: a folder holds Moses files or documents with summaries; a file by its suffix."""
    if path.is_dir():
        return "summaries" if any(path.rglob("*.summary")) else "moses"
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("tsv", "csv", "jsonl"):
        return suffix
    if suffix in ("txt", "tab"):
        return "tsv"
    from aiaas_cli.errors import ConfigError

    raise ConfigError(f"cannot tell the layout of {path.name}", f"set data.format to one of {', '.join(FORMATS)}")


def read_pairs(path: Path, data_cfg: Any, skipped: list[dict]) -> list[Pair]:
    """Every usable pair of ``path`` (a file or folder) in the layout data.format names (null: guessed)."""
    fmt = str(data_cfg.format or detect_format(path))
    encoding = str(data_cfg.get("encoding") or "utf-8")
    fields = (data_cfg.get("source_field"), data_cfg.get("target_field"))
    if fmt in ("tsv", "csv"):
        pairs = _table(path, "\t" if fmt == "tsv" else ",", fields, encoding, skipped)
    elif fmt == "jsonl":
        pairs = _jsonl(path, fields, encoding, skipped)
    elif fmt == "moses":
        pairs = _moses(path, data_cfg.get("source_lang"), data_cfg.get("target_lang"), encoding, skipped)
    else:
        pairs = _summaries(path, encoding, skipped)
    return [pair for pair in pairs if _usable(pair, skipped)]


def _usable(pair: Pair, skipped: list[dict]) -> bool:
    pair.source, pair.target = pair.source.strip(), pair.target.strip()
    for side, text in (("source", pair.source), ("target", pair.target)):
        if not text:
            skipped.append({"file": pair.where, "reason": f"empty {side}"})
            return False
    return True


def decoded_lines(path: Path, encoding: str, skipped: list[dict]) -> list[str | None]:
    """The file's lines, each decoded on its own: a line that does not decode is None (and reported), the rest stay."""
    data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
    out: list[str | None] = []
    raw = data.split(b"\n")
    if raw and raw[-1] == b"":
        raw.pop()
    for number, line in enumerate(raw, start=1):
        try:
            out.append(line.decode(encoding).removesuffix("\r"))
        except UnicodeDecodeError:
            skipped.append({"file": f"{path.name}:{number}", "reason": f"not {encoding}"})
            out.append(None)
    return out


def _pick(names: list[str], wanted: Any, guesses: tuple[str, ...], what: str) -> str:
    lowered = {name.lower().strip(): name for name in names}
    if wanted:
        if str(wanted).lower() not in lowered:
            from aiaas_cli.errors import ConfigError

            raise ConfigError(f"no {what} field '{wanted}' (found: {', '.join(names)})")
        return lowered[str(wanted).lower()]
    found = next((lowered[g] for g in guesses if g in lowered), None)
    if found is None:
        from aiaas_cli.errors import ConfigError

        raise ConfigError(
            f"no {what} column among {', '.join(names) or 'nothing'}",
            f"name it with data.{what}_field (guessed: {', '.join(guesses)})",
        )
    return found


def _split_of(value: Any) -> str | None:
    return SPLIT_NAMES.get(str(value).strip().lower()) if value not in (None, "") else None


def _table(path: Path, delimiter: str, fields: tuple, encoding: str, skipped: list[dict]) -> Iterator[Pair]:
    from aiaas_recipes.common.data.delimited import Rows

    lines = decoded_lines(path, encoding, skipped)
    text = "".join(line + "\n" for line in lines if line is not None)  # undecodable lines are reported already
    numbers = [n for n, line in enumerate(lines, start=1) if line is not None]
    rows = Rows(text, delimiter, strict=delimiter != "\t")  # TSV cells may hold quotes as plain characters
    if rows.header is None:
        return
    source = rows.header.index(_pick(rows.header, fields[0], SOURCE_FIELDS, "source"))
    target = rows.header.index(_pick(rows.header, fields[1], TARGET_FIELDS, "target"))
    split = next((i for i, name in enumerate(rows.header) if name.strip().lower() == "split"), None)
    for row in rows:
        where = f"{path.name}:{numbers[row.line - 1]}"
        if row.problem:
            skipped.append({"file": where, "reason": row.problem})
            continue
        yield Pair(
            row.cells[source], row.cells[target], where, _split_of(row.cells[split]) if split is not None else None
        )


def _jsonl(path: Path, fields: tuple, encoding: str, skipped: list[dict]) -> Iterator[Pair]:
    import json

    for number, line in enumerate(decoded_lines(path, encoding, skipped), start=1):
        if line is None or not line.strip():
            continue
        where = f"{path.name}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            skipped.append({"file": where, "reason": f"not JSON ({exc.msg})"})
            continue
        if not isinstance(record, dict):
            skipped.append({"file": where, "reason": "not a JSON object"})
            continue
        source = _pick(list(record), fields[0], SOURCE_FIELDS, "source")
        target = _pick(list(record), fields[1], TARGET_FIELDS, "target")
        values = record.get(source), record.get(target)
        if not all(isinstance(v, str) for v in values):
            skipped.append({"file": where, "reason": "source and target must be strings"})
            continue
        yield Pair(values[0], values[1], where, _split_of(record.get("split")))


def moses_files(folder: Path) -> dict[str, dict[str, Path]]:
    """{prefix: {language suffix: file}} of a folder of parallel files (train.en, train.de, test.en, ...)."""
    files: dict[str, dict[str, Path]] = {}
    for file in sorted(folder.iterdir()):
        if file.is_file() and not file.name.startswith(".") and file.suffix:
            files.setdefault(file.stem, {})[file.suffix.lstrip(".")] = file
    return files


def languages(folder: Path, source: Any, target: Any) -> tuple[str, str]:
    """(source, target) suffixes: as configured, else the two the files share ("en" is the source when present)."""
    from aiaas_cli.errors import ConfigError

    found = sorted({lang for group in moses_files(folder).values() for lang in group})
    if source and target:
        return str(source), str(target)
    if len(found) != 2:
        raise ConfigError(
            f"{folder} holds files in {len(found)} languages ({', '.join(found) or 'none'})",
            "name the pair: data.source_lang=en data.target_lang=de (files train.en and train.de)",
        )
    if source or target:
        given = str(source or target)
        other = next(lang for lang in found if lang != given)
        return (given, other) if source else (other, given)
    return (found[0], found[1]) if found[0] == "en" or "en" not in found else (found[1], found[0])


def _moses(folder: Path, source: Any, target: Any, encoding: str, skipped: list[dict]) -> Iterator[Pair]:
    src_lang, tgt_lang = languages(folder, source, target)
    for prefix, group in moses_files(folder).items():
        if src_lang not in group or tgt_lang not in group:
            lonely = next(iter(group.values())).name
            skipped.append({"file": lonely, "reason": f"no partner file ({prefix}.{src_lang} + {prefix}.{tgt_lang})"})
            continue
        left = decoded_lines(group[src_lang], encoding, skipped)
        right = decoded_lines(group[tgt_lang], encoding, skipped)
        if len(left) != len(right):
            longer = group[src_lang] if len(left) > len(right) else group[tgt_lang]
            skipped.append(
                {
                    "file": f"{longer.name}:{min(len(left), len(right)) + 1}",
                    "reason": f"misaligned: {len(left)} lines in {group[src_lang].name}, "
                    f"{len(right)} in {group[tgt_lang].name} (lines past the shorter file skipped)",
                }
            )
        split = next((name for key, name in MOSES_SPLITS.items() if prefix.lower().startswith(key)), None)
        for number, (a, b) in enumerate(zip(left, right), start=1):
            if a is not None and b is not None:
                yield Pair(a, b, f"{group[src_lang].name}:{number}", split)


def _summaries(folder: Path, encoding: str, skipped: list[dict]) -> Iterator[Pair]:
    for doc in sorted(folder.rglob("*.txt")):
        summary = doc.with_suffix(".summary")
        where = str(doc.relative_to(folder))
        if not summary.is_file():
            skipped.append({"file": where, "reason": "no .summary beside it"})
            continue
        try:
            text, short = doc.read_bytes().decode(encoding), summary.read_bytes().decode(encoding)
        except UnicodeDecodeError:
            skipped.append({"file": where, "reason": f"not {encoding}"})
            continue
        split = next(
            (SPLIT_NAMES[p.lower()] for p in doc.relative_to(folder).parts[:-1] if p.lower() in SPLIT_NAMES), None
        )
        yield Pair(" ".join(text.split()), " ".join(short.split()), where, split)
