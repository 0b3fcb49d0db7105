"""Where `aiaas predict` gets its inputs, one at a time, so that millions never sit in memory.

Inputs are files, folders (walked lazily in sorted order, one folder's names at a time), ``@list.txt`` files (a
path, folder or ``s3://`` URL per line) and ``s3://bucket/prefix`` listings (a page of 1000 keys at a time). The
order is the same on every run, which is what ``--resume`` relies on: the output file holds the first rows of this
run's stream, so resuming skips as many inputs as it has complete lines (checking each name) and appends the rest.

``--shard i/n`` keeps the inputs whose name hashes to ``i`` modulo ``n``: a stable hash (BLAKE2b of the name, not
Python's salted ``hash``) rather than the position, so an input's shard never depends on the other inputs. Array
tasks that list a folder while files still arrive, or a prefix listed a moment apart, still split it without
overlap, and no task has to count everything before it starts.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from aiaas_cli import console, storage, workspace
from aiaas_cli.errors import ConfigError, UserError

S3 = "s3://"


def sources(inputs: list[str], suffixes: Iterable[str] | None = None) -> Iterator[str]:
    """Every input file (a path or an s3:// URL) in order; hidden files and folders are skipped. With ``suffixes``
    (the serving module's INPUT_SUFFIXES), a file found in a folder or under a prefix is an input only with one of
    them (transcripts beside recordings are not recordings); a file named on its own always is."""
    wanted = {s.lower() for s in suffixes} if suffixes else None
    for name in inputs:
        if name.startswith("@"):
            yield from _list_file(Path(name[1:]).expanduser(), wanted)
        else:
            yield from _source(name, wanted)


def _source(name: str, wanted: set[str] | None) -> Iterator[str]:
    def kept(found: str) -> bool:
        return wanted is None or Path(found).suffix.lower() in wanted

    if name.startswith(S3):
        yield from filter(kept, s3_objects(name))
        return
    path = Path(name).expanduser()
    if path.is_dir():
        yield from filter(kept, (str(child) for child in walk(path)))
    else:
        yield str(path)  # a missing file becomes an error line, not an abort


def _list_file(path: Path, wanted: set[str] | None) -> Iterator[str]:
    """The inputs a list file names, one per line (blank lines skipped), read as it goes."""
    if not path.is_file():
        raise ConfigError(f"list file {path} does not exist", "@FILE names a text file with one input per line")
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield from _source(line.rstrip("\r\n"), wanted)


def walk(folder: Path) -> Iterator[Path]:
    """The files under ``folder`` in the order of ``sorted(folder.rglob("*"))``, holding one folder's names at a
    time; hidden entries are skipped and linked folders are not entered (as rglob does)."""
    try:
        with os.scandir(folder) as listing:
            entries = sorted((e.name, e.is_dir(follow_symlinks=False)) for e in listing if not e.name.startswith("."))
    except OSError:
        return  # an unreadable folder holds no inputs, as with rglob
    for name, is_dir in entries:
        child = folder / name
        if is_dir:
            yield from walk(child)
        elif child.is_file():
            yield child


def s3_objects(url: str) -> Iterator[str]:
    """``s3://bucket/key`` for every object under the prefix, in S3's (sorted) listing order, a page at a time."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, prefix = url.removeprefix(S3).partition("/")
    pages = storage.s3_client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    try:
        for page in pages:
            for entry in page.get("Contents", []):
                key = entry["Key"]
                if not key.endswith("/") and not any(p.startswith(".") for p in key[len(prefix) :].split("/")):
                    yield f"{S3}{bucket}/{key}"
    except (BotoCoreError, ClientError) as exc:
        raise storage.s3_error(url, exc) from None


def first_checked(names: Iterator[str], inputs: list[str]) -> Iterator[str]:
    """``names`` unchanged, after checking now (before a model is loaded) that there is at least one."""
    first = next(names, None)
    if first is None:
        raise ConfigError(f"no input files in {', '.join(inputs)}", "pass input files or folders that contain them")
    return itertools.chain([first], names)


def read(module: Any, names: Iterable[str]) -> Iterator[tuple[str, Any]]:
    """The serving module's (name, payload) pairs, a file at a time: its own ``read_inputs`` (rows of a table,
    lines of a text) or one payload per file; an S3 object is fetched when its turn comes."""
    from aiaas_cli.serving.runtime import read_files

    reader = getattr(module, "read_inputs", None) or read_files
    for name in names:
        if name.startswith(S3):
            yield from _read_s3(reader, name)
        else:
            yield from reader([Path(name)])


def _read_s3(reader: Callable, url: str) -> Iterator[tuple[str, Any]]:
    """The object downloaded beside nothing else (its own temp folder, its own file name, so the recipe sees the
    suffix), read like a local file, its inputs named by the URL."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, key = url.removeprefix(S3).partition("/")
    with tempfile.TemporaryDirectory(prefix="aiaas-predict-", dir=workspace.scratch_dir()) as temp:
        local = Path(temp) / (Path(key).name or "object")
        try:
            storage.s3_client().download_file(bucket, key, str(local))
        except (BotoCoreError, ClientError) as exc:
            yield url, OSError(f"cannot read {url}: {str(exc).splitlines()[0]}")
            return
        for name, payload in reader([local]):
            yield url + name[len(str(local)) :], payload  # "…/x.csv:3" keeps its ":3"


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` -> (i, n) with 0 <= i < n."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not int(match[1]) < int(match[2]):
        raise ConfigError(f"--shard must be i/n with 0 <= i < n (e.g. 0/4), got '{text}'")
    return int(match[1]), int(match[2])


def shard_of(name: str, count: int) -> int:
    digest = hashlib.blake2b(name.encode("utf-8", "surrogateescape"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % count


def in_shard(items: Iterable[Any], key: Callable[[Any], str], shard: tuple[int, int] | None) -> Iterator[Any]:
    if shard is None or shard[1] == 1:
        yield from items
        return
    index, count = shard
    yield from (item for item in items if shard_of(key(item), count) == index)


class Resume:
    """An output file to continue: a torn last line (a kill mid-write) is cut off, the complete rows are the first
    ``done`` inputs of the stream, and ``skip`` drops exactly those, checking that each name matches."""

    def __init__(self, output: str | None):
        if not output:
            raise ConfigError("--resume needs --output FILE (.jsonl or .csv) to continue")
        self.path = Path(output).expanduser()
        if self.path.suffix.lower() not in (".jsonl", ".csv"):
            raise ConfigError(f"--output must end in .jsonl or .csv, got '{self.path.name}'")
        self.torn = self.path.is_file() and drop_torn_line(self.path)
        self.header = self._header() if self.path.suffix.lower() == ".csv" else None
        self.done = 0

    def _header(self) -> list[str] | None:
        if not self.path.is_file():
            return None
        with self.path.open(newline="") as handle:
            header = next(csv.reader(handle), None)
        if header is not None and "input" not in header:
            raise ConfigError(f"{self.path} has no 'input' column: not a predictions file to resume")
        return header

    def names(self) -> Iterator[str]:
        """The inputs the file already answers, in order, read as it goes."""
        if not self.path.is_file():
            return
        with self.path.open(newline="") as handle:
            if self.header is not None:
                yield from (row["input"] for row in csv.DictReader(handle))
                return
            for number, line in enumerate(handle, start=1):
                try:
                    yield json.loads(line)["input"]
                except (ValueError, KeyError, TypeError):
                    raise UserError(f"{self.path}: line {number} is not a prediction line; cannot resume") from None

    def skip(self, items: Iterator[Any], key: Callable[[Any], str]) -> Iterator[Any]:
        for finished in self.names():
            item = next(items, None)
            if item is None or key(item) != finished:
                now = "nothing" if item is None else f"'{key(item)}'"
                raise UserError(
                    f"{self.path} row {self.done + 1} is '{finished}' but this run's input {self.done + 1} is {now}",
                    "the inputs or --shard changed since the first try; write to a new --output",
                )
            self.done += 1
        if self.done:
            console.step(f"Resuming {self.path}: {self.done} input(s) already done")
        yield from items


def drop_torn_line(path: Path) -> bool:
    """Cut ``path`` after its last newline; True when something was cut."""
    with path.open("r+b") as handle:
        end = position = handle.seek(0, os.SEEK_END)
        keep = 0
        while position > 0:
            start = max(0, position - (1 << 16))
            handle.seek(start)
            cut = handle.read(position - start).rfind(b"\n")
            if cut >= 0:
                keep = start + cut + 1
                break
            position = start
        if keep < end:
            handle.truncate(keep)
    if keep < end:
        console.warn(f"{path}: dropped a torn last line ({end - keep} bytes) left by an interrupted run")
    return keep < end


def select(module: Any, names: Iterator[str], shard: tuple[int, int] | None, resume: Resume | None) -> Iterator:
    """This run's (name, payload) pairs from the input files ``names``. For one file per input, shard and resume
    pick names before anything is read; for a module that reads many inputs from a file, they pick from its rows."""
    per_file = not hasattr(module, "read_inputs")
    if per_file:
        names = in_shard(names, str, shard)
        names = resume.skip(names, str) if resume else names
    items = read(module, names)
    if not per_file:
        items = in_shard(items, _name, shard)
        items = resume.skip(items, _name) if resume else items
    return items


def _name(item: tuple[str, Any]) -> str:
    return item[0]


class Ticker:
    """Progress for a stream of unknown length: a line every ``every`` seconds and one at the end."""

    def __init__(self, description: str, every: float = 10.0):
        self.description, self.every, self.done = description, every, 0
        self.start = self.last = time.perf_counter()

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.perf_counter()
        if now - self.last >= self.every:
            self.last = now
            console.info(f"{self.description}: {self.done} done ({now - self.start:.1f}s)")

    def close(self) -> None:
        console.info(f"{self.description}: {self.done} done ({time.perf_counter() - self.start:.1f}s)")
