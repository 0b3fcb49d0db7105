"""The HTTP request and response types of a served table model, generated from its fitted schema (pydantic).

Every training column is a field with its type, so `/docs.json` documents the exact record a client sends.
Records are validated here rather than by BentoML, so that a bad field is a 422 that names it.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema, create_model

MAX_TEXT = 1000  # characters of a categorical or date value
FIELD_TYPES = {"numeric": float, "boolean": bool, "date": str, "categorical": str}
DESCRIPTIONS = {
    "numeric": "a number",
    "boolean": "true/false (also yes/no, 1/0)",
    "date": "a date",
    "categorical": "a category (unknown ones are accepted)",
}


class ClassPrediction(BaseModel):
    label: str = Field(description="The most probable class.")
    score: float = Field(description="Its probability.")
    probabilities: dict[str, float] = Field(description="The probability of every class.")


class ValuePrediction(BaseModel):
    value: float = Field(description="The predicted value, in the target's units.")


def _field(column: dict[str, Any]) -> tuple[Any, Any]:
    kind = column["kind"]
    kind_type = FIELD_TYPES[kind]
    description = DESCRIPTIONS[kind]
    extra: dict[str, Any] = {}
    if kind == "numeric":
        extra["allow_inf_nan"] = False
        extra["examples"] = [column["features"][0]["fill"]]
    elif kind in ("date", "categorical"):
        extra["max_length"] = MAX_TEXT
    if kind == "date":
        fmt = column["format"]
        description += " (ISO 8601)" if fmt == "iso" else f" ({fmt}; ISO 8601 also accepted)"
    if kind == "categorical" and column["vocabulary"]:
        extra["examples"] = column["vocabulary"][:3]
    if column["required"]:
        return kind_type, Field(..., alias=column["name"], description=description, **extra)
    description += "; optional: null or left out is imputed as in training"
    return kind_type | None, Field(None, alias=column["name"], description=description, **extra)


def record_model(schema: dict[str, Any]) -> type[BaseModel]:
    """One table row: a field per training column (Python names f0, f1...; the column name is the alias)."""
    fields = {f"f{i}": _field(column) for i, column in enumerate(schema["columns"])}
    # extra fields are kept (not refused by pydantic) so `validate` can refuse them by name, or ignore them
    config = ConfigDict(extra="allow", coerce_numbers_to_str=True, json_schema_extra={"additionalProperties": False})
    return create_model("Record", __config__=config, **fields)


def records_type(record: type[BaseModel], max_records: int) -> Any:
    """The `records` parameter: a JSON list validated by `validate`, documented as a list of ``record``."""
    items = record.model_json_schema(by_alias=True)
    items.pop("title", None)
    schema = {"type": "array", "items": items, "minItems": 1, "maxItems": max_records, "title": "Records"}
    return Annotated[list[dict[str, Any]], WithJsonSchema(schema)]


def predictions_type(task: str) -> type[BaseModel]:
    item = ClassPrediction if task == "classification" else ValuePrediction
    return create_model("Predictions", predictions=(list[item], Field(description="One per record, in order.")))


def _where(error: dict[str, Any], index: int) -> str:
    loc = error.get("loc") or ()
    return f"records[{index}]" + "".join(f".{part}" for part in loc)


def validate(record: type[BaseModel], records: list[Any], ignore_extra: bool, max_records: int) -> list[dict] | str:
    """The records as dicts keyed by column name, or the message of the first problem (field named)."""
    if not records:
        return "no records in the request"
    if len(records) > max_records:
        return f"{len(records)} records in one request; the limit is {max_records}"
    clean = []
    for index, raw in enumerate(records):
        if not isinstance(raw, dict):
            return f"records[{index}] must be a JSON object"
        try:
            parsed = record.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            return f"{_where(first, index)}: {first['msg']}"
        extra = parsed.model_extra or {}
        if extra and not ignore_extra:
            name = next(iter(extra))
            return f"records[{index}].{name}: not a field of this model (send ignore_extra=true to ignore such fields)"
        clean.append(parsed.model_dump(by_alias=True, exclude=set(extra)))
    return clean
