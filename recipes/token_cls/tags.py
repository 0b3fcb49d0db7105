"""Tag schemes: read BIO/IOB1/BIOES/BILOU tags into BIO, repair them, and turn them into spans and back.

Numpy-free and torch-free: preprocessing, evaluation and the served model share it. Internally every
sequence is BIO (IOB2): an entity starts with ``B-TYPE`` and goes on with ``I-TYPE``.
"""

from __future__ import annotations

from dataclasses import dataclass

OUTSIDE = "O"
# the first letter of a tag in each scheme, mapped onto BIO: E/L end an entity, S/U are single-word ones
PREFIXES = {"B": "B", "I": "I", "E": "I", "L": "I", "S": "B", "U": "B"}


class TagError(ValueError):
    """A tag that no scheme knows (the sentence holding it is skipped)."""


@dataclass
class Converted:
    tags: list[str]  # BIO
    repaired: int  # I- tags that continued nothing and now start an entity


def parse(tag: str) -> tuple[str, str | None]:
    """("B"|"I"|"O", entity type) of one tag of any supported scheme; raises TagError."""
    tag = tag.strip()
    if tag == OUTSIDE:
        return OUTSIDE, None
    prefix, sep, kind = tag.partition("-")
    if not sep:
        prefix, sep, kind = tag.partition("_")  # B_PER, as some tools write it
    if not sep or prefix.upper() not in PREFIXES or not kind.strip():
        raise TagError(f"tag '{tag}' is not O or B-/I-/E-/S-/L-/U- followed by a type")
    return PREFIXES[prefix.upper()], kind.strip()


def to_bio(tags: list[str]) -> Converted:
    """BIO tags for a sentence tagged in any scheme; an I- that follows O or another type becomes B- (counted)."""
    result, repaired, previous = [], 0, None
    for tag in tags:
        prefix, kind = parse(tag)
        if prefix == OUTSIDE:
            result.append(OUTSIDE)
            previous = None
            continue
        if prefix == "I" and previous != kind:
            prefix, repaired = "B", repaired + 1
        if tag.strip()[:1].upper() in "SU":  # a single-word entity ends here: the next I- cannot continue it
            result.append(f"B-{kind}")
            previous = None
            continue
        result.append(f"{prefix}-{kind}")
        previous = kind
    return Converted(result, repaired)


def spans(tags: list[str]) -> list[tuple[int, int, str]]:
    """Entities of a valid BIO sequence as (first word, last word + 1, type)."""
    found, start, kind = [], None, None
    for i, tag in enumerate([*tags, OUTSIDE]):
        if start is not None and not (tag.startswith("I-") and tag[2:] == kind):
            found.append((start, i, kind))
            start = None
        if tag.startswith("B-"):
            start, kind = i, tag[2:]
    return found


def from_spans(length: int, entities: list[tuple[int, int, str]]) -> list[str]:
    """BIO tags of ``length`` words holding ``entities`` (first word, last word + 1, type)."""
    tags = [OUTSIDE] * length
    for start, end, kind in entities:
        tags[start] = f"B-{kind}"
        tags[start + 1 : end] = [f"I-{kind}"] * (end - start - 1)
    return tags


def tag_names(types: list[str]) -> list[str]:
    """The label set a model predicts: O, then B- and I- of each type."""
    return [OUTSIDE, *(f"{prefix}-{kind}" for kind in types for prefix in ("B", "I"))]
