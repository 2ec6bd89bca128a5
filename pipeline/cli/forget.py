"""``cxstream forget``: ask the pipeline to erase one customer (docs/privacy.md)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

import typer

from pipeline.cli.group import Bootstrap, Prefix, command_settings, fail


def _subject(region: str, given: dict[str, str | None]) -> tuple[str, str]:
    """``(kind, value)`` of the one identifier given, normalised as the standardise stage
    normalises it (a phone number without a country code is read in ``region``)."""
    from pipeline.standardise.normalise.emails import normalise_address
    from pipeline.standardise.normalise.phones import to_e164

    named = [(kind, value) for kind, value in given.items() if value is not None]
    if len(named) != 1:
        flags = ", ".join("--" + kind.replace("_", "-") for kind in given)
        raise fail(f"give exactly one of {flags}", 2)
    kind, value = named[0]
    value = value.strip()
    if not value:
        raise fail(f"--{kind.replace('_', '-')} is empty", 2)
    if kind == "email":
        address, _ = normalise_address(value)
        if address is None:
            raise fail("--email is not an email address", 2)
        value = address
    if kind == "phone":
        e164 = to_e164(value, region)
        if e164 is None:
            raise fail(
                f"--phone is not a valid phone number (read in region {region}; "
                "write it with its country code, e.g. +44 20 7946 0958)",
                2,
            )
        value = e164
    return kind, value


def forget(
    customer_key: Annotated[
        str | None, typer.Option(help="The customer key (cus_…) as on cx.interactions.")
    ] = None,
    email: Annotated[str | None, typer.Option(help="An email address of the customer.")] = None,
    phone: Annotated[
        str | None,
        typer.Option(
            help="A phone number (any format; without a country code it is read in "
            "CXSTREAM_DEFAULT_REGION)."
        ),
    ] = None,
    user_id: Annotated[str | None, typer.Option(help="The web/app user id.")] = None,
    anonymous_id: Annotated[str | None, typer.Option(help="A web anonymous id.")] = None,
    customer_id: Annotated[str | None, typer.Option(help="The CRM customer id.")] = None,
    request_id: Annotated[
        str | None,
        typer.Option(help="Your id for this request (default: a new UUID); audit records name it."),
    ] = None,
    bootstrap: Bootstrap = None,
    prefix: Prefix = None,
) -> None:
    """Forget a customer: publish an erasure request on cx.privacy.

    Name the customer by exactly one identifier. The worker then removes
    their identity links and keys, profile, conversations and near-duplicate
    entries, writes tombstones on cx.profiles and cx.identity, and audit
    records without personal data on cx.erasures, keyed by the request id.

    Records on topics that are not compacted stay until their retention ends
    (docs/privacy.md).
    """
    from pydantic import ValidationError

    from pipeline.contracts.privacy import ErasureRequest
    from pipeline.tools.produce import Outgoing, produce

    settings = command_settings(bootstrap_servers=bootstrap, topic_prefix=prefix)
    given = {
        "customer_key": customer_key,
        "email": email,
        "phone": phone,
        "user_id": user_id,
        "anonymous_id": anonymous_id,
        "customer_id": customer_id,
    }
    kind, value = _subject(settings.default_region, given)
    try:
        request = ErasureRequest.model_validate(
            {
                "request_id": request_id or f"erase-{uuid.uuid4()}",
                "requested_at": datetime.now(UTC),
                kind: value,
            }
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors(include_input=False, include_url=False)
        )
        raise fail(f"invalid request: {problems}", 2) from exc
    topic = settings.topics.privacy
    message = Outgoing(topic, request.request_id.encode(), request.model_dump_json().encode())
    try:
        [delivered] = produce(settings, [message])
    except Exception as exc:
        raise fail(f"cannot write to {topic} on {settings.bootstrap_servers}: {exc}") from exc
    typer.echo(
        f"erasure request {request.request_id} ({kind}) written to {topic}"
        f"[{delivered.partition}]@{delivered.offset}; audit records will be on "
        f"{settings.topics.erasures} under key {request.request_id}"
    )
