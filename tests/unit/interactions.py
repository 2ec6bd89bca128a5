"""A standard customer chat interaction for tests that score or route one."""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.contracts.records import Identifiers, Interaction, SourceRef

WHEN = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def chat_interaction(i: int, text: str | None, language: str | None = None) -> Interaction:
    """Customer ``cus_1``'s chat message number ``i`` (``cx.raw.chat[0]`` offset ``i``)."""
    return Interaction(
        interaction_id=f"ix_{i}",
        source=SourceRef(topic="cx.raw.chat", partition=0, offset=i, source_message_id=str(i)),
        channel="chat",
        event_type="message",
        customer_key="cus_1",
        identifiers=Identifiers(email="a@example.com"),
        occurred_at=WHEN,
        received_at=WHEN,
        author_role="customer",
        text=text,
        language=language,
    )
