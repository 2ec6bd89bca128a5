"""Arrow schemas derived from the pydantic contracts, and records turned into Arrow rows.

The lake's columns are the contract's fields, so a field added to a model appears in the lake
without a second definition to keep in step. Nested models become structs and lists of models
lists of structs (``scores.sentiment.label`` is a column path, not a JSON string); string-keyed
maps of numbers or strings become Arrow maps. Only free-form values (``dict[str, Any]``, such
as ``attributes`` and ``ai.thresholds``) are kept as JSON text: they have no schema to derive.
"""

from __future__ import annotations

import json
import types
from datetime import date, datetime
from enum import Enum
from typing import Any, Literal, Union, get_args, get_origin

import pyarrow as pa
from pydantic import BaseModel

TIMESTAMP = pa.timestamp("us", tz="UTC")
META_FIELDS: tuple[pa.Field, ...] = (
    pa.field("_topic", pa.string(), nullable=False),
    pa.field("_partition", pa.int32(), nullable=False),
    pa.field("_offset", pa.int64(), nullable=False),
    pa.field("_kafka_timestamp", TIMESTAMP),
    pa.field("_record_key", pa.string(), nullable=False),
)
"""Columns every lake table adds: where the row came from in Kafka, and its record key (the
business identity of the record, e.g. ``interaction_id``; the same key twice on a topic means
the pipeline emitted a record again, see ``pipeline.lake.tables``)."""


class UnsupportedType(TypeError):
    """A model field whose Python type has no Arrow mapping here (add one before using it)."""


def _is_json(annotation: Any) -> bool:
    return annotation is Any or (
        get_origin(annotation) is dict
        and len(get_args(annotation)) == 2
        and get_args(annotation)[1] is Any
    )


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def arrow_type(annotation: Any) -> pa.DataType:
    """The Arrow type of one Python annotation (optional types are nullable fields instead)."""
    annotation, _ = _unwrap_optional(annotation)
    if _is_json(annotation):
        return pa.string()
    origin = get_origin(annotation)
    if origin is Literal:
        values = get_args(annotation)
        if all(isinstance(v, str) for v in values):
            return pa.string()
        raise UnsupportedType(f"mixed Literal {annotation!r}")
    if origin is list:
        (item,) = get_args(annotation)
        return pa.list_(arrow_type(item))
    if origin is dict:
        key, value = get_args(annotation)
        if key is not str:
            raise UnsupportedType(f"map keys must be str: {annotation!r}")
        return pa.map_(pa.string(), arrow_type(value))
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return pa.struct(model_fields(annotation))
        if issubclass(annotation, Enum):
            return pa.string()
        # bool before int: bool is a subclass of int
        for python, arrow in (
            (bool, pa.bool_()),
            (int, pa.int64()),
            (float, pa.float64()),
            (str, pa.string()),
            (datetime, TIMESTAMP),
            (date, pa.date32()),
        ):
            if issubclass(annotation, python):
                return arrow
    raise UnsupportedType(f"no Arrow type for {annotation!r}")


def model_fields(model: type[BaseModel]) -> list[pa.Field]:
    """One Arrow field per model field, in the model's order."""
    fields = []
    for name, info in model.model_fields.items():
        _, optional = _unwrap_optional(info.annotation)
        fields.append(pa.field(name, arrow_type(info.annotation), nullable=optional))
    return fields


def lake_schema(model: type[BaseModel]) -> pa.Schema:
    """The schema of a lake table holding ``model`` records: its fields + the Kafka columns."""
    return pa.schema([*model_fields(model), *META_FIELDS])


def _arrow_value(annotation: Any, value: Any) -> Any:
    """``value`` (from ``model_dump(mode="python")``) as pyarrow's converter expects it."""
    if value is None:
        return None
    inner, _ = _unwrap_optional(annotation)
    if _is_json(inner):
        return json.dumps(value, sort_keys=True, default=str)
    origin = get_origin(inner)
    if origin is list:
        (item,) = get_args(inner)
        return [_arrow_value(item, v) for v in value]
    if origin is dict:
        _, item = get_args(inner)
        return [(k, _arrow_value(item, v)) for k, v in value.items()]
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        return model_row(inner, value)
    if isinstance(value, Enum):
        return value.value
    return value


def model_row(model: type[BaseModel], dumped: dict[str, Any]) -> dict[str, Any]:
    """A ``model_dump()`` of ``model`` as a row of :func:`lake_schema` (no Kafka columns)."""
    return {
        name: _arrow_value(info.annotation, dumped.get(name))
        for name, info in model.model_fields.items()
    }


def _python_value(annotation: Any, value: Any) -> Any:
    """The inverse of :func:`_arrow_value`: a value read from the lake as the contract takes it."""
    if value is None:
        return None
    inner, _ = _unwrap_optional(annotation)
    if _is_json(inner):
        return json.loads(value)
    origin = get_origin(inner)
    if origin is list:
        (item,) = get_args(inner)
        return [_python_value(item, v) for v in value]
    if origin is dict:
        _, item = get_args(inner)
        return {k: _python_value(item, v) for k, v in value}
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        return row_fields(inner, value)
    return value


def row_fields(model: type[BaseModel], row: dict[str, Any]) -> dict[str, Any]:
    """A lake row (``to_pylist()``) as the fields ``model.model_validate`` takes.

    JSON text becomes values again and Arrow maps dicts; the Kafka columns are left out. A null
    in a field the contract does not allow to be null (a file written before the field was
    added) is left out too, so the field's default applies instead of failing validation.
    """
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        value = row.get(name)
        if value is None and not _unwrap_optional(info.annotation)[1] and not info.is_required():
            continue
        fields[name] = _python_value(info.annotation, value)
    return fields
