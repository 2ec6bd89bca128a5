"""The profile API of a worker bound beyond loopback: a bearer token or nothing (issue 19).

The worker binds every address (``CXSTREAM_WEB_HOST=0.0.0.0``, as in a container) with a
token, and is asked at this machine's own network address, not at 127.0.0.1. A customer's
profile is served with the token and refused without it; refusals, 404s, the worker's log and
its ``/metrics`` say nothing about the customer, and the token is never logged.
"""

from __future__ import annotations

import json
import secrets
import socket
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr

from pipeline.settings import Settings
from pipeline.tools.output_accounting import read_all
from pipeline.tools.produce import Outgoing, produce
from pipeline.tools.runner import WorkerProcess
from tests.waiting import wait_until

TOKEN = secrets.token_urlsafe(32)
EMAIL = "erin.token@example.com"
TEXT = "Hello, my parcel never arrived and I would like a refund please."


def _network_address() -> str:
    """This machine's address on its default route (the address a pod's peers would use)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: UDP only picks a route
        except OSError:
            return "127.0.0.1"  # no network at all: the 0.0.0.0 bind still serves loopback
        return str(probe.getsockname()[0])


@pytest.fixture
def pipeline_settings(pipeline_settings: Settings) -> Settings:
    """The shared test settings, the worker's web server bound beyond loopback with a token."""
    return pipeline_settings.model_copy(
        update={"web_host": "0.0.0.0", "web_token": SecretStr(TOKEN)}
    )


def _get(settings: Settings, path: str, authorization: str | None) -> tuple[int, str]:
    url = f"http://{_network_address()}:{settings.web_port}{path}"
    headers = {"Authorization": authorization} if authorization else {}
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _customer_key(settings: Settings) -> str:
    found: list[str] = []

    def emitted() -> bool:
        found[:] = [ix["customer_key"] for ix in read_all(settings, settings.topics.interactions)]
        return bool(found)

    wait_until("the chat on cx.interactions", emitted, 90, every_s=1.0)
    return found[0]


def test_profile_needs_the_token_beyond_loopback(
    pipeline_settings: Settings, worker: WorkerProcess
) -> None:
    settings = pipeline_settings
    chat: dict[str, Any] = {
        "message_id": "conv-token-1-m1",
        "conversation_id": "conv-token-1",
        "sent_at": datetime.now(UTC).isoformat(),
        "author_role": "customer",
        "customer": {"email": EMAIL},
        "text": TEXT,
    }
    produce(settings, [Outgoing(settings.topics.raw("chat"), b"erin", json.dumps(chat).encode())])
    key = _customer_key(settings)
    path = f"/customers/{key}"
    bearer = f"Bearer {TOKEN}"
    answers: list[tuple[int, str]] = []

    def served() -> bool:
        answers[:] = [_get(settings, path, bearer)]
        return answers[0][0] == 200

    wait_until("the profile with the token", served, 90, detail=lambda: answers)
    assert json.loads(answers[0][1])["interactions"] == 1

    refused = {
        "no header": _get(settings, path, None),
        "wrong token": _get(settings, path, f"Bearer {secrets.token_urlsafe(32)}"),
        "other scheme": _get(settings, path, f"Basic {TOKEN}"),
        "token without scheme": _get(settings, path, TOKEN),
    }
    assert {why: status for why, (status, _) in refused.items()} == dict.fromkeys(refused, 401)
    missing_status, missing_body = _get(settings, "/customers/cus_nobody0000000000000", bearer)
    assert missing_status == 404
    for _, body in [*refused.values(), (missing_status, missing_body)]:
        assert key not in body
        assert "cus_nobody" not in body
    assert _get(settings, "/livez", None)[0] == 200  # probes need no token

    with urllib.request.urlopen(
        f"http://127.0.0.1:{settings.metrics_port}/metrics", timeout=15
    ) as response:
        metrics = response.read().decode()
    assert "cxstream_stage_events_in_total" in metrics
    for personal in (key, EMAIL, "erin", TOKEN):
        assert personal not in metrics
    log = worker.log_text()
    assert "Worker ready" in log
    for secret_or_personal in (key, EMAIL, TOKEN, "cus_nobody"):
        assert secret_or_personal not in log
