"""The emerging-issue scenario generator: deterministic, a ramp that rises, contract-valid
raw messages on every channel it uses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline.contracts.raw import RAW_MODELS
from pipeline.tools.synthetic.emerging import ramp, raw_message, steady

START = datetime(2026, 11, 2, tzinfo=UTC)


def test_the_ramp_is_deterministic_rises_and_speaks_of_its_issue() -> None:
    messages = ramp(START, 90, 40, seed=3)
    assert messages == ramp(START, 90, 40, seed=3)
    early = sum(m.at < START + timedelta(minutes=45) for m in messages)
    # a linear ramp puts a quarter of its messages in the first half and three quarters after
    assert len(messages) - early > 2 * early
    assert all(m.injected for m in messages)
    assert {m.channel for m in messages} == {"chat", "email", "voice"}
    assert all(word in m.text.lower() for m in messages for word in ("promo", "code"))
    assert sum("checkout" in m.text.lower() for m in messages) >= len(messages) * 0.8


def test_steady_traffic_keeps_its_rate_and_order() -> None:
    messages = steady(START, 10, 30, seed=3)
    assert 240 < len(messages) < 360
    assert [m.at for m in messages] == sorted(m.at for m in messages)
    assert not any(m.injected for m in messages)
    assert len({m.message_id for m in messages}) == len(messages)


def test_raw_messages_follow_the_contract() -> None:
    for message in steady(START, 2, 30, seed=4) + ramp(START, 60, 40, seed=4):
        channel, body = raw_message(message)
        assert channel == message.channel
        RAW_MODELS[channel].model_validate(body)
