"""The reply templates file (``CXSTREAM_REPLY_TEMPLATES``): approved replies with placeholders.

Each template names the intents it answers, its text with ``{placeholders}`` for the agent to
fill (no text is ever generated) and a few customer messages it answers (``examples``): the
score stage embeds the examples (the text, for a template without any) with the scoring model
and suggests the template whose example is most similar to the message, among the templates
of the message's intent (``pipeline/scoring/reply_templates.py`` says when another intent's
template may win).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

DEFAULT_TEMPLATES_FILE = Path(__file__).with_name("templates.yaml")

Example = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class ReplyTemplate(BaseModel):
    """One approved reply: the intents it answers, its text with {placeholders}, and customer
    messages it answers (what the similarity is measured against)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64)
    intents: list[str] = Field(min_length=1)
    text: str = Field(min_length=1, max_length=500)
    examples: list[Example] = Field(default_factory=list, max_length=20)

    @property
    def phrases(self) -> list[str]:
        """What a message is compared with: the examples, or the text when there are none.

        The text is the agent's reply, not a customer's message: its wording matches the wrong
        messages (with the bundled model, "Thank you for flagging this, the charge of …" is
        0.66 similar to "thanks so much, great service!"), so it counts only without examples.
        """
        return list(self.examples) or [self.text]


class ReplyTemplates(BaseModel):
    """The templates file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    templates: list[ReplyTemplate] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> ReplyTemplates:
        names = [t.name for t in self.templates]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"template names must be unique: {', '.join(repeated)}")
        return self

    def for_intent(self, intent: str | None) -> ReplyTemplate | None:
        """The first template written for ``intent`` (the choice without a similarity)."""
        return next((t for t in self.templates if intent in t.intents), None)

    def named(self, name: str) -> ReplyTemplate | None:
        """The template called ``name``, if this file has it."""
        return next((t for t in self.templates if t.name == name), None)

    def candidates(self, intent: str | None) -> list[ReplyTemplate]:
        """Every template written for ``intent``, in the file's order."""
        return [t for t in self.templates if intent in t.intents]


class TemplatesFileError(ValueError):
    """The templates file is missing, not YAML, or does not validate."""


def load_templates(path: Path | None = None) -> ReplyTemplates:
    """Read and validate a templates file (default: the bundled one)."""
    path = path or DEFAULT_TEMPLATES_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return ReplyTemplates.model_validate(data)
    except (OSError, yaml.YAMLError) as exc:
        raise TemplatesFileError(f"reply templates {path}: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'file'}: {err['msg']}"
            for err in exc.errors()
        )
        raise TemplatesFileError(f"reply templates {path}: {problems}") from exc
