"""The profile API's lock: the token rule in the settings, the constant-time check, the bind."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from pipeline.settings import Settings, SettingsError, get_settings, is_loopback
from pipeline.streaming.app import build_app
from pipeline.streaming.web_auth import bearer_matches, require_token
from pipeline.tools.runner import settings_env

TOKEN = "s3cret-token-0123456789abcdef"
EVERYWHERE = "0.0.0.0"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (f"Bearer {TOKEN}", True),
        (f"bearer {TOKEN}", True),
        (f"  Bearer   {TOKEN}  ", True),
        (None, False),
        ("", False),
        ("Bearer", False),
        (f"Bearer {TOKEN[:-1]}", False),
        (f"Bearer {TOKEN}x", False),
        (f"Basic {TOKEN}", False),
        (TOKEN, False),
    ],
)
def test_bearer_matches_only_the_exact_token(header: str | None, expected: bool) -> None:
    assert bearer_matches(header, SecretStr(TOKEN)) is expected


def test_without_a_token_the_handler_is_left_as_it_is() -> None:
    async def handler() -> None:
        return None

    assert require_token(None)(handler) is handler
    assert require_token(SecretStr(TOKEN))(handler) is not handler


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        (EVERYWHERE, False),
        ("::", False),
        ("10.1.2.3", False),
        ("worker-0.cxstream", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_binding_beyond_loopback_without_a_token_is_one_line_naming_the_settings() -> None:
    settings = Settings(web_host=EVERYWHERE)  # other commands (tail, produce) still run
    with pytest.raises(SettingsError) as caught:
        settings.check_web_exposure()
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"CXSTREAM_WEB_HOST={EVERYWHERE}: serves customer profiles")
    assert "CXSTREAM_WEB_TOKEN" in message


@pytest.mark.parametrize(
    "settings",
    [
        Settings(web_host="127.0.0.1"),
        Settings(web_host="localhost"),
        Settings(web_host="::1"),
        Settings(web_host=EVERYWHERE, web_port=0),  # no web server at all
        Settings(web_host=EVERYWHERE, web_token=TOKEN),
    ],
    ids=["127.0.0.1", "localhost", "::1", "no-web-server", "token"],
)
def test_loopback_no_server_or_a_token_may_start(settings: Settings) -> None:
    settings.check_web_exposure()


def test_a_short_token_is_refused_without_being_repeated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CXSTREAM_WEB_TOKEN", "short-secret")
    with pytest.raises(SettingsError) as caught:
        get_settings()
    assert str(caught.value).startswith("CXSTREAM_WEB_TOKEN='***': must be at least 16 characters")
    assert "short-secret" not in str(caught.value)


def test_the_token_can_come_from_a_mounted_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "web-token"
    path.write_text(f"{TOKEN}\n")
    monkeypatch.setenv("CXSTREAM_WEB_HOST", EVERYWHERE)
    monkeypatch.setenv("CXSTREAM_WEB_TOKEN_FILE", str(path))
    settings = get_settings()
    settings.check_web_exposure()
    token = settings.web_bearer_token()
    assert token is not None
    assert token.get_secret_value() == TOKEN


def test_a_missing_or_short_token_file_names_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CXSTREAM_WEB_TOKEN_FILE", str(tmp_path / "absent"))
    with pytest.raises(SettingsError, match=r"^CXSTREAM_WEB_TOKEN_FILE=.*readable text file"):
        get_settings()
    short = tmp_path / "short"
    short.write_text("tiny-secret\n")
    monkeypatch.setenv("CXSTREAM_WEB_TOKEN_FILE", str(short))
    with pytest.raises(SettingsError, match=r"^CXSTREAM_WEB_TOKEN_FILE=.*at least 16") as caught:
        get_settings()
    assert "tiny-secret" not in str(caught.value)


def test_token_and_token_file_together_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "web-token"
    path.write_text(TOKEN)
    with pytest.raises(SettingsError, match="not both"):
        get_settings(web_token=TOKEN, web_token_file=path)


def test_the_app_binds_the_host_and_advertises_a_reachable_name(tmp_path: Path) -> None:
    base = {"state_dir": tmp_path, "store": "memory://", "scoring_enabled": False}
    everywhere = build_app(Settings(web_host=EVERYWHERE, web_token=TOKEN, **base))
    assert everywhere.conf.web_bind == EVERYWHERE
    assert everywhere.conf.web_host == socket.gethostname()
    pod = Settings(web_host=EVERYWHERE, web_token=TOKEN, web_advertised_host="10.1.2.3", **base)
    assert build_app(pod).conf.web_host == "10.1.2.3"
    local = build_app(Settings(**base))
    assert (local.conf.web_bind, local.conf.web_host) == ("127.0.0.1", "127.0.0.1")
    with pytest.raises(SettingsError, match="CXSTREAM_WEB_HOST"):
        build_app(Settings(web_host=EVERYWHERE, **base))


def test_the_worker_refuses_to_start_beyond_loopback_without_a_token(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, bootstrap_servers="127.0.0.1:1")
    env = settings_env(settings.model_copy(update={"web_host": EVERYWHERE}))
    for name in ("CXSTREAM_WEB_TOKEN", "CXSTREAM_WEB_TOKEN_FILE"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "worker", "--no-supervise"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=os.getcwd(),
    )
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: CXSTREAM_WEB_HOST={EVERYWHERE}: serves customer")
    assert done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr
