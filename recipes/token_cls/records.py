"""One annotated sentence as the recipe keeps it: its text and its entities as character spans.

Tokens with tags (CoNLL, JSONL ``tokens``/``tags``) become a text joined by single spaces with the spans of
their entities, so both input kinds meet in one form, the same form the served model answers in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiaas_recipes.token_cls import tags as tagging


class RecordError(ValueError):
    """A sentence that cannot be used; the message says why (it is skipped and reported)."""


@dataclass
class Record:
    text: str
    entities: list[tuple[int, int, str]]  # (start, end, type): text[start:end] is the entity
    where: str = ""  # file:line, for reports
    repaired: int = field(default=0, compare=False)  # I- tags repaired on the way in

    def to_json(self) -> dict:
        return {"text": self.text, "entities": [list(e) for e in self.entities], "where": self.where}

    @classmethod
    def from_json(cls, data: dict) -> Record:
        return cls(data["text"], [(int(s), int(e), str(k)) for s, e, k in data["entities"]], data.get("where", ""))


def from_tokens(tokens: list[str], tags: list[str], where: str = "") -> Record:
    """A record from tokens and their tags (any scheme); raises RecordError for unusable ones."""
    if len(tokens) != len(tags):
        raise RecordError(f"{len(tokens)} tokens but {len(tags)} tags")
    if not tokens:
        raise RecordError("no tokens")
    tokens = [str(token).strip() for token in tokens]
    if not all(tokens):
        raise RecordError("an empty or whitespace-only token")
    try:
        converted = tagging.to_bio([str(tag) for tag in tags])
    except tagging.TagError as exc:
        raise RecordError(str(exc)) from None
    starts, position = [], 0
    for token in tokens:
        starts.append(position)
        position += len(token) + 1
    entities = [
        (starts[first], starts[last - 1] + len(tokens[last - 1]), kind)
        for first, last, kind in tagging.spans(converted.tags)
    ]
    return Record(" ".join(tokens), entities, where, converted.repaired)


def from_spans(text: object, entities: object, where: str = "") -> Record:
    """A record from a text and its character spans, each checked against the text; raises RecordError."""
    if not isinstance(text, str) or not text.strip():
        raise RecordError("'text' is missing or empty")
    if not isinstance(entities, list):
        raise RecordError("'entities' must be a list of {start, end, label}")
    spans = sorted(_span(text, entity) for entity in entities)
    for (_, end, _), (start, _, _) in zip(spans, spans[1:]):
        if start < end:
            raise RecordError(f"entities overlap at characters {start}-{end}")
    return Record(text, spans, where)


def _span(text: str, entity: object) -> tuple[int, int, str]:
    """(start, end, label) of one entity: a {start, end, label} object or a [start, end, label] list (doccano)."""
    if isinstance(entity, dict):
        start, end, label = entity.get("start"), entity.get("end"), entity.get("label")
        quoted = entity.get("text")
    elif isinstance(entity, list) and len(entity) == 3:
        (start, end, label), quoted = entity, None
    else:
        raise RecordError(f"entity {entity!r} is not {{start, end, label}}")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)):
        raise RecordError(f"entity {entity!r}: start and end must be integers")
    if not isinstance(label, str) or not label.strip() or any(c.isspace() for c in label.strip()):
        raise RecordError(f"entity {entity!r}: label must be a non-empty word")
    if not 0 <= start < end <= len(text):
        raise RecordError(f"entity {start}-{end} is outside the text of {len(text)} characters")
    if quoted is not None and quoted != text[start:end]:
        raise RecordError(f"entity {start}-{end} says {quoted!r} but the text there is {text[start:end]!r}")
    if not text[start:end].strip():
        raise RecordError(f"entity {start}-{end} covers only whitespace")
    while text[start].isspace():  # "Paris " for "Paris": a common slip of annotation tools, not an error
        start += 1
    while text[end - 1].isspace():
        end -= 1
    return start, end, label.strip()
