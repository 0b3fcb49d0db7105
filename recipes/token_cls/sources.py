"""Read annotated sentences from the user's files: CoNLL columns or JSONL. A bad sentence is skipped with its reason.

CoNLL: one token per line, the token in ``data.token_column`` and its tag in ``data.tag_column`` (tab- or
space-separated), a blank line between sentences, ``-DOCSTART-`` lines ignored; tags in BIO, IOB1, BIOES or
BILOU, read into BIO. JSONL: one sentence per line, ``{"tokens": [...], "tags": [...]}`` or
``{"text": "...", "entities": [{"start", "end", "label"}]}`` (also doccano's ``"label": [[start, end, type]]``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from aiaas_cli.errors import ConfigError
from aiaas_recipes.common.text.lines import json_records, lines
from aiaas_recipes.token_cls import records
from aiaas_recipes.token_cls.records import Record, RecordError

CONLL_SUFFIXES = (".conll", ".conllu", ".conll03", ".txt", ".bio", ".iob", ".iob2", ".bioes", ".tsv", ".tags")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
FORMATS = ("conll", "jsonl")
SPLIT_WORDS = {"train": "train", "dev": "val", "valid": "val", "val": "val", "test": "test"}


@dataclass
class Corpus:
    records: list[Record] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)  # {"file", "reason"}, as the preprocess stage reports them
    schemes: set[str] = field(default_factory=set)  # "BIO", "BIOES" seen in CoNLL/tokens input

    def add(self, make, where: str) -> None:
        try:
            self.records.append(make())
        except RecordError as exc:
            self.skipped.append({"file": where, "reason": str(exc)})

    @property
    def repaired(self) -> int:
        return sum(r.repaired for r in self.records)


def detect_format(path: Path, configured: str | None) -> str:
    if configured:
        if configured not in FORMATS:
            raise ConfigError(f"data.format={configured} is not one of {', '.join(FORMATS)}")
        return configured
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    if suffix in CONLL_SUFFIXES:
        return "conll"
    raise ConfigError(
        f"cannot tell the format of {path.name}", f"name it .conll or .jsonl, or set data.format={'|'.join(FORMATS)}"
    )


def _scheme(tags: list[str]) -> str:
    return "BIOES" if any(str(t).strip()[:1].upper() in "ESLU" and str(t).strip() != "O" for t in tags) else "BIO"


def _columns(line: str) -> list[str]:
    return line.split("\t") if "\t" in line else line.split()


def read_conll(text: str, name: str, corpus: Corpus, token_column: int, tag_column: int) -> None:
    """Sentences of a CoNLL file into ``corpus``."""
    tokens: list[str] = []
    tags: list[str] = []
    problem, start = None, 0

    def close() -> None:
        if tokens or problem:
            where = f"{name}:{start}"
            if problem:
                corpus.skipped.append({"file": where, "reason": problem})
            else:
                corpus.schemes.add(_scheme(tags))
                corpus.add(lambda: records.from_tokens(list(tokens), list(tags), where), where)
        tokens.clear()
        tags.clear()

    for number, line in enumerate(lines(text), start=1):
        if not line.strip() or line.startswith("-DOCSTART-"):
            close()
            problem = None
            continue
        start = start if tokens or problem else number
        columns = _columns(line.strip())
        try:
            token, tag = columns[token_column], columns[tag_column]
        except IndexError:
            problem = problem or f"line {number} has {len(columns)} column(s), no token and tag columns"
            continue
        if len(columns) < 2:
            problem = problem or f"line {number} has one column: no tag"
        tokens.append(token)
        tags.append(tag)
    close()


def _json_record(record: object, where: str, corpus: Corpus) -> Record:
    if not isinstance(record, dict):
        raise RecordError("not a JSON object")
    if "tokens" in record:
        tokens, tags = record.get("tokens"), record.get("tags", record.get("ner_tags"))
        if not isinstance(tokens, list) or not isinstance(tags, list):
            raise RecordError("'tokens' and 'tags' must be lists")
        if not all(isinstance(t, str) for t in [*tokens, *tags]):
            raise RecordError("tokens and tags must be strings (tag names, not numbers)")
        corpus.schemes.add(_scheme(tags))
        return records.from_tokens(tokens, tags, where)
    entities = next((record[k] for k in ("entities", "spans", "label") if k in record), None)
    if entities is None:
        raise RecordError("neither 'tokens'/'tags' nor 'text'/'entities'")
    return records.from_spans(record.get("text"), entities, where)


def read_jsonl(text: str, name: str, corpus: Corpus) -> None:
    """Sentences of a JSONL file into ``corpus``."""
    for where, record in json_records(text, name, corpus.skipped):
        corpus.add(lambda: _json_record(record, where, corpus), where)  # noqa: B023 (called at once)


def read_file(path: Path, fmt: str, data_cfg, corpus: Corpus) -> None:
    """Every sentence of one file into ``corpus``; a file that cannot be decoded is skipped whole."""
    try:
        text = path.read_bytes().decode(str(data_cfg.encoding)).removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        corpus.skipped.append({"file": str(path), "reason": f"not {data_cfg.encoding} ({exc.reason})"})
        return
    except LookupError:
        raise ConfigError(f"data.encoding={data_cfg.encoding} is not a known encoding") from None
    if fmt == "jsonl":
        read_jsonl(text, path.name, corpus)
    else:
        read_conll(text, path.name, corpus, int(data_cfg.token_column), int(data_cfg.tag_column))


def split_of(path: Path) -> str | None:
    """The split a file's name gives (train.conll, en_dev.jsonl, test.txt), or None."""
    words = path.stem.lower().replace("-", "_").replace(".", "_").split("_")
    return next((SPLIT_WORDS[w] for w in words if w in SPLIT_WORDS), None)


def files_of(path: Path) -> list[Path]:
    """The annotated files under a folder (hidden ones skipped), or the file itself."""
    if not path.is_dir():
        return [path]
    found = sorted(
        p for p in path.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
        and p.suffix.lower() in (*CONLL_SUFFIXES, *JSONL_SUFFIXES)
    )  # fmt: skip
    if not found:
        raise ConfigError(f"no .conll or .jsonl files in {path}")
    return found


def read(path: Path, data_cfg) -> dict[str | None, Corpus]:
    """The sentences under ``path`` by the split their file names give (None: not named after a split)."""
    by_split: dict[str | None, Corpus] = {}
    for file in files_of(path):
        split = split_of(file) if path.is_dir() else None
        read_file(file, detect_format(file, data_cfg.format), data_cfg, by_split.setdefault(split, Corpus()))
    return by_split
