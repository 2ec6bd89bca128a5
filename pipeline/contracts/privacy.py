"""Erasure ("forget a customer"): the request on ``cx.privacy``, the order the resolve stage
hands the workflow stage, and the audit record on ``cx.erasures``.

A request names its subject by exactly one identifier (or a customer key). Identifiers are
compared with the ones on ``cx.interactions``: an email is case-folded, a phone number must be
E.164 (``cxstream forget`` converts human formats first). The audit record holds no personal
data: no identifier and no customer key (docs/privacy.md says why), only the request id, what
kinds of state went and how many of each.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_SUBJECT_CHARS = 256
"""Longest identifier or key a request may name (the input contract's identifier limit)."""
SUBJECT_KINDS = ("customer_key", "customer_id", "user_id", "email", "phone", "anonymous_id")
ERASURE_SCHEMA_VERSION = 1

SubjectKind = Literal["customer_key", "customer_id", "user_id", "email", "phone", "anonymous_id"]
Subject = Field(None, min_length=1, max_length=MAX_SUBJECT_CHARS)


class ErasureRequest(BaseModel):
    """Forget one customer; the payload of ``cx.privacy`` (any producer may write it)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = Field(ERASURE_SCHEMA_VERSION, ge=1)
    request_id: str = Field(
        min_length=1,
        max_length=128,
        description="The requester's id for this request: every audit record names it.",
    )
    requested_at: datetime
    customer_key: str | None = Subject
    customer_id: str | None = Subject
    user_id: str | None = Subject
    email: str | None = Field(None, min_length=3, max_length=MAX_SUBJECT_CHARS)
    phone: str | None = Field(None, min_length=2, max_length=MAX_SUBJECT_CHARS)
    anonymous_id: str | None = Subject

    @model_validator(mode="after")
    def _one_subject(self) -> ErasureRequest:
        named = [kind for kind in SUBJECT_KINDS if getattr(self, kind) is not None]
        if len(named) != 1:
            found = ", ".join(named) or "none"
            raise ValueError(f"name exactly one of {', '.join(SUBJECT_KINDS)} (found: {found})")
        return self

    @property
    def subject(self) -> tuple[SubjectKind, str]:
        """``(kind, value)`` of the one identifier or key the request names."""
        for kind in SUBJECT_KINDS:
            value = getattr(self, kind)
            if value is not None:
                return kind, value  # type: ignore[return-value]
        raise AssertionError("validated: one subject")


class ErasureOrder(BaseModel):
    """Internal (resolve → workflow, on ``cx.internal.scored`` with header ``cx-kind: erase``,
    keyed by the customer key): erase the workflow state of one customer key."""

    request_id: str
    customer_key: str
    subject_kind: SubjectKind
    requested_at: datetime


ErasedKind = Literal[
    "identity_links",
    "identity_members",
    "merged_keys",
    "dedupe_texts",
    "customers",
    "conversations",
    "identity_tombstones",
    "profile_tombstones",
]


class ErasureAudit(BaseModel):
    """What one stage erased for one request; the payload of ``cx.erasures`` (keyed by request
    id). A request has one ``resolve`` record and one ``workflow`` record per customer key the
    resolve record counts in ``customer_keys``; it is complete when all of them are there."""

    request_id: str
    stage: Literal["resolve", "workflow"]
    subject_kind: SubjectKind = Field(description="What the request named (never the value).")
    found: bool = Field(description="False: this stage held nothing of the customer.")
    removed: dict[ErasedKind, int] = Field(
        default_factory=dict, description="Kind of state → records removed or tombstoned."
    )
    customer_keys: int = Field(
        0, description="resolve: customer keys (current and merged) handed to the workflow."
    )
    requested_at: datetime
    erased_at: datetime
    summary: str = Field(description="The decision in words, with its numbers.")
