"""Faust's aiokafka transport with an idempotent producer, as ``cxkafka://``.

Under ``processing_guarantee="at_least_once"`` (ours, docs/reliability.md) Faust creates its
aiokafka producer without idempotence. When the broker wrote a batch but its acknowledgement
was lost — a broker restart, a dropped connection — the producer sends the batch again and the
broker writes it a second time: an alert change could land twice on ``cx.alerts`` although the
alert ledger never re-sent it (seen in the broker-restart scenario). With
``enable_idempotence`` the broker recognises the retry by producer id and sequence number and
writes it once. It needs ``acks=all``, which the worker uses anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from faust.transport import drivers
from faust.transport.drivers import aiokafka as faust_aiokafka

SCHEME = "cxkafka"


class IdempotentProducer(faust_aiokafka.Producer):
    """Faust's aiokafka producer, idempotent whatever the processing guarantee."""

    def _settings_extra(self) -> Mapping[str, Any]:
        return {**super()._settings_extra(), "acks": "all", "enable_idempotence": True}


class Transport(faust_aiokafka.Transport):
    """Faust's aiokafka transport with :class:`IdempotentProducer`."""

    Producer = IdempotentProducer


drivers.TRANSPORTS[SCHEME] = f"{__name__}:{Transport.__name__}"


def broker_urls(bootstrap_servers: str) -> list[str]:
    """Faust broker URLs for a comma-separated ``host:port`` list, on this transport."""
    return [f"{SCHEME}://{server.strip()}" for server in bootstrap_servers.split(",")]
