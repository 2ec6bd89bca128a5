"""Raw payload bytes → one JSON object, strictly: UTF-8, standard JSON, bounded nesting.

The first check every raw message passes (``Standardiser.standardise``); each refusal is an
:class:`InputError` with its dead-letter reason code.
"""

from __future__ import annotations

import codecs
import json
from typing import Any

from pipeline.contracts.records import ReasonCode
from pipeline.standardise.normalise.errors import InputError

MAX_JSON_DEPTH = 64
"""Deeper payloads are rejected: nothing in the contract nests beyond a few levels, and the
records must survive JSON round trips between stages."""


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


def decode_json(value: bytes) -> dict[str, Any]:
    """Strict UTF-8 JSON object, or ``InputError`` (invalid_utf8/invalid_json/not_an_object).

    A leading UTF-8 byte-order mark is skipped: Windows tools write one before valid JSON.
    """
    bom = len(codecs.BOM_UTF8) if value.startswith(codecs.BOM_UTF8) else 0
    try:
        text = value[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            ReasonCode.INVALID_UTF8,
            f"payload is not UTF-8: byte {exc.start + bom} ({exc.reason})",
        ) from exc
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise InputError(ReasonCode.INVALID_JSON, "JSON is nested too deeply") from exc
    except ValueError as exc:
        raise InputError(ReasonCode.INVALID_JSON, f"payload is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InputError(
            ReasonCode.NOT_AN_OBJECT, f"payload is a JSON {type(data).__name__}, not an object"
        )
    if _depth_exceeds(data, MAX_JSON_DEPTH):
        raise InputError(
            ReasonCode.INVALID_JSON, f"JSON is nested deeper than {MAX_JSON_DEPTH} levels"
        )
    if "\\u" in text and _has_lone_surrogate(data):
        raise InputError(
            ReasonCode.INVALID_UTF8, "payload escapes a lone UTF-16 surrogate (\\ud800-\\udfff)"
        )
    return data


def _has_lone_surrogate(data: dict[str, Any]) -> bool:
    """True when a ``\\uXXXX`` escape decoded to a lone surrogate: no UTF-8 can carry it."""
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _depth_exceeds(value: Any, limit: int) -> bool:
    """True when containers nest deeper than ``limit`` (iterative: no recursion limit)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, dict | list))
    return False
