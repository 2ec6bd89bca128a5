"""An intent pack: a company's own reasons for contact, written as a YAML file.

::

    name: retail
    description: Orders, deliveries, returns and accounts of an online shop.
    version: "1"
    intents:
      - name: track_order            # snake_case: it becomes the label on every event
        description: Where an order or parcel is.
        queue: logistics             # optional: routing sends the message here
        priority: normal             # optional: low | normal | high | critical
        examples:                    # at least 5 real customer messages
          - where is my parcel
          - …
    out_of_scope_examples:           # optional: messages none of the intents should claim
      - what's the weather like tomorrow

A file that does not validate gives one line naming the file and the path of each wrong
field (``retail.yaml: intents[3].examples: needs at least 5 examples, got 2``), never a
traceback: :class:`PackError`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from pipeline.contracts.scores import OUT_OF_SCOPE
from pipeline.resources import bundled

MIN_EXAMPLES = 5
Priority = Literal["low", "normal", "high", "critical"]
SNAKE_CASE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")
Example = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class PackError(ValueError):
    """An intent pack (or a fitted pack) that cannot be used; its text is one line."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IntentSpec(_Strict):
    """One business intent: its label, what it means, and the messages that show it."""

    name: str = Field(description="snake_case label put on events (e.g. track_order).")
    description: str = Field(min_length=1, description="What a message with this intent wants.")
    examples: list[Example] = Field(description=f"At least {MIN_EXAMPLES} customer messages.")
    queue: str | None = Field(None, min_length=1, description="Queue routing sends it to.")
    priority: Priority | None = Field(None, description="low | normal | high | critical.")

    @field_validator("name")
    @classmethod
    def _snake_case(cls, value: str) -> str:
        if not SNAKE_CASE.fullmatch(value):
            raise ValueError(f"must be snake_case (lowercase letters, digits and _), got {value!r}")
        if value == OUT_OF_SCOPE:
            raise ValueError(f"{OUT_OF_SCOPE!r} is reserved for messages no intent claims")
        return value

    @field_validator("examples")
    @classmethod
    def _enough(cls, value: list[str]) -> list[str]:
        distinct = list(dict.fromkeys(value))
        if len(distinct) < MIN_EXAMPLES:
            repeated = (
                f" distinct ({len(value)} with repeats)" if len(distinct) < len(value) else ""
            )
            raise ValueError(
                f"needs at least {MIN_EXAMPLES} examples, got {len(distinct)}{repeated}"
            )
        return distinct


class IntentPack(_Strict):
    """A whole pack file."""

    name: str = Field(min_length=1, description="Pack name, shown on every event it labels.")
    description: str = Field(min_length=1)
    version: str = Field(min_length=1, description="Your version label of this pack.")
    intents: list[IntentSpec] = Field(min_length=2, description="At least two intents.")
    out_of_scope_examples: list[Example] = Field(
        default_factory=list,
        description="Messages none of the intents should claim (sharpen the out-of-scope rule).",
    )

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: object) -> object:
        # `version: 1` and `version: 1.2` are what people write; keep them as text.
        return (
            str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
        )

    @field_validator("intents")
    @classmethod
    def _distinct(cls, intents: list[IntentSpec]) -> list[IntentSpec]:
        names = [intent.name for intent in intents]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"names must be distinct: {', '.join(repeated)} repeated")
        owners: dict[str, str] = {}
        for intent in intents:
            for text in intent.examples:
                key = text.casefold()
                if key in owners and owners[key] != intent.name:
                    raise ValueError(
                        f"example {text!r} is under both {owners[key]} and {intent.name}"
                    )
                owners[key] = intent.name
        return intents

    @property
    def label(self) -> str:
        """``name@version``: how events name the pack that labelled them."""
        return f"{self.name}@{self.version}"


def _field_path(loc: tuple[int | str, ...]) -> str:
    """``('intents', 3, 'examples')`` → ``intents[3].examples``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def describe_errors(source: str, exc: ValidationError) -> str:
    """One line: ``FILE: path: what is wrong; path: …``."""
    problems = []
    for err in exc.errors(include_url=False):
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            message = "is required"
        elif err["type"] == "extra_forbidden":
            message = "is not a pack field (check the spelling)"
        elif err["type"] == "too_short" and err["loc"] and err["loc"][-1] == "intents":
            message = f"needs at least 2 intents, got {len(err['input'])}"
        path = _field_path(tuple(err["loc"]))
        problems.append(f"{path}: {message}" if path else message)
    return f"{source}: {'; '.join(problems)}"


def parse_pack(text: str, source: str) -> IntentPack:
    """Validate a pack's YAML text; ``source`` names it in errors."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        raise PackError(f"{source}: not valid YAML{line}: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise PackError(f"{source}: the top level must be a mapping (name, intents, …), not {kind}")
    try:
        return IntentPack.model_validate(data)
    except ValidationError as exc:
        raise PackError(describe_errors(source, exc)) from exc


def load_pack(path: Path) -> IntentPack:
    """Read and validate a pack file; :class:`PackError` says exactly what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PackError(f"{path}: cannot read the pack file ({exc.strerror or exc})") from exc
    return parse_pack(text, str(path))


def bundled_packs() -> dict[str, Path]:
    """The packs shipped with cxstream (``data/intents``), by file stem."""
    folder = bundled("intents")
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def resolve_pack_path(value: Path | str) -> Path:
    """A pack file path, or the name of a bundled pack (``retail``, ``banking``, ``travel``)."""
    path = Path(value)
    if path.exists():
        return path
    packs = bundled_packs()
    if path.name == str(value) and path.stem in packs and path.suffix in {"", ".yaml"}:
        return packs[path.stem]
    raise PackError(
        f"{value}: no such pack file (bundled packs: {', '.join(packs) or 'none installed'})"
    )
