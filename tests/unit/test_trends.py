"""Emerging-issue detection on plain dicts: clustering, labels, the open/grow/fade lifecycle,
warm-up, replays and restarts, the alert it becomes, and the sampling of cx.enriched."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.contracts.records import Enriched
from pipeline.contracts.trends import TrendSample
from pipeline.trends.agent import sample_of, sampled
from pipeline.trends.alerts import alert_of
from pipeline.trends.detector import TrendChange, TrendConfig, TrendDetector, poisson_tail
from pipeline.trends.labels import distinctive_terms, label_of

START = datetime(2026, 11, 2, tzinfo=UTC)
CONFIG = TrendConfig(
    similarity=0.6,
    window_s=3600,
    bucket_s=600,
    baseline_s=6 * 3600,
    min_volume=6,
    min_growth=3.0,
    significance=1e-3,
    max_clusters=50,
)
TOPICS = {
    0: ("My parcel is late again, where is my delivery?", "The courier lost my parcel."),
    1: ("I was charged twice this month.", "There is a double charge on my card."),
    2: ("I cannot log in, the password reset mail never comes.", "Locked out of my account."),
}
PROMO = (
    "The promo code is rejected at checkout.",
    "Checkout says my promo code is invalid.",
    "Promo code SAVE20 does not work at checkout.",
)


def _vector(topic: int, rng: random.Random) -> list[float]:
    """A unit-ish vector near axis ``topic`` of a 16-dimensional space."""
    vector = [rng.gauss(0, 0.08) for _ in range(16)]
    vector[topic] += 1.0
    return vector


def _sample(n: int, topic: int, at: datetime, rng: random.Random) -> TrendSample:
    texts = PROMO if topic == 5 else TOPICS[topic]
    return TrendSample(
        interaction_id=f"ix-{topic}-{n}",
        occurred_at=at,
        channel=("chat", "email", "voice")[n % 3],
        text=texts[n % len(texts)],
        sentiment=-0.5,
        embedding=_vector(topic, rng),
    )


def _traffic(hours: float, promo_from_h: float | None) -> list[TrendSample]:
    """Three steady topics, 2 messages an hour each; from ``promo_from_h`` on, one hour of
    promo-code complaints at 12 an hour."""
    rng = random.Random(5)
    samples = []
    for minute in range(0, int(hours * 60), 10):
        at = START + timedelta(minutes=minute)
        if minute % 30 == 0:
            samples.append(_sample(minute, minute // 30 % 3, at, rng))
        if promo_from_h is not None and promo_from_h * 60 <= minute < promo_from_h * 60 + 60:
            for k in range(2):
                samples.append(_sample(minute * 2 + k, 5, at + timedelta(minutes=k * 5), rng))
    return samples


def _run(detector: TrendDetector, samples: list[TrendSample]) -> list[TrendChange]:
    changes = []
    for sample in samples:
        changes += detector.observe(sample)
        detector.save()
    return changes


def test_steady_topics_never_open_an_issue() -> None:
    detector = TrendDetector(CONFIG, {})
    assert _run(detector, _traffic(30, None)) == []
    assert detector.clusters == 3


def test_a_new_issue_opens_grows_and_fades_with_a_readable_label() -> None:
    changes = _run(TrendDetector(CONFIG, {}), _traffic(12, promo_from_h=8))
    statuses = [c.trend.status for c in changes]
    assert statuses[0] == "emerging" and statuses[-1] == "faded"
    assert set(statuses[1:-1]) <= {"growing"}
    first = changes[0].trend
    assert "promo code" in first.keywords and "checkout" in first.label
    assert first.volume >= CONFIG.min_volume and first.growth >= CONFIG.min_growth
    assert "expected from the previous 6 h" in first.reason
    assert len({c.trend.trend_id for c in changes}) == 1
    assert [c.revision for c in changes] == list(range(1, len(changes) + 1))
    opened_after = first.detected_at - (START + timedelta(hours=8))
    assert timedelta(0) < opened_after <= timedelta(minutes=40)
    alerts = [alert_of(c, CONFIG) for c in changes]
    assert [a.status for a in alerts] == ["opened"] + ["updated"] * (len(alerts) - 2) + ["resolved"]
    assert {a.alert_id for a in alerts} == {changes[0].alert_id}
    assert alerts[0].type == "emerging_issue" and alerts[0].requires_human
    assert not alerts[0].auto_action_allowed and alerts[-1].closed_at is not None
    assert alerts[0].actions[0].requires_human and "expected" in alerts[0].actions[0].reason
    assert alerts[0].evidence
    assert all(e.interaction_id.startswith("ix-5-") for e in alerts[0].evidence)


def test_nothing_opens_during_warm_up() -> None:
    # the issue starts 2 h in: every cluster is new then, so the detector does not judge yet
    assert _run(TrendDetector(CONFIG, {}), _traffic(4, promo_from_h=2)) == []


def test_a_replay_into_fresh_state_decides_the_same() -> None:
    samples = _traffic(12, promo_from_h=8)
    once = [(c.trend, c.alert_id) for c in _run(TrendDetector(CONFIG, {}), samples)]
    again = [(c.trend, c.alert_id) for c in _run(TrendDetector(CONFIG, {}), samples)]
    assert once == again and once


def test_state_survives_a_restart_and_redeliveries_count_once() -> None:
    samples = _traffic(12, promo_from_h=8)
    whole = [c.trend for c in _run(TrendDetector(CONFIG, {}), samples)]
    store: dict[str, bytes] = {}
    half = len(samples) * 3 // 4
    first = _run(TrendDetector(CONFIG, store), samples[:half])
    # a new detector over the same store, and the last few samples delivered again
    rest = _run(TrendDetector(CONFIG, store), samples[half - 5 :])
    assert [c.trend for c in first + rest] == whole


def test_unsaved_changes_are_decided_again_after_a_crash() -> None:
    samples = _traffic(12, promo_from_h=8)
    store: dict[str, bytes] = {}
    detector = TrendDetector(CONFIG, store)
    for n, sample in enumerate(samples):
        changes = detector.observe(sample)
        if changes:  # crash before save: the change never reached the broker
            again = TrendDetector(CONFIG, store)
            for earlier in samples[:n]:
                assert again.observe(earlier) == []
            assert [c.trend for c in again.observe(sample)] == [c.trend for c in changes]
            return
        detector.save()
    pytest.fail("no trend change in the scenario")


def test_clusters_are_bounded() -> None:
    config = TrendConfig(**{**CONFIG.__dict__, "max_clusters": 2})
    detector = TrendDetector(config, store := {})
    _run(detector, _traffic(3, None))
    assert detector.clusters == 2 and sum(k.startswith("cluster:") for k in store) == 2


def test_labels_prefer_the_words_that_set_a_cluster_apart() -> None:
    classes = {
        "a": [t + " Please help with my order." for t in PROMO],
        "b": ["Please help, my order is late.", "Where is my order? Please help."],
        "c": ["My order was charged twice, please help."],
    }
    words = distinctive_terms(classes, "a")
    assert {"promo code", "checkout"} <= set(words[:3])
    assert "order" not in words and "please" not in words
    assert "promo code" in label_of(words)
    assert label_of([]) == "(no distinctive words)"


def test_poisson_tail() -> None:
    assert poisson_tail(0, 3.0) == 1.0
    assert poisson_tail(8, 1.0) == pytest.approx(1.02e-5, rel=0.01)
    assert poisson_tail(3, 3.0) == pytest.approx(0.5768, abs=1e-4)


def _enriched(**changes: object) -> Enriched:
    base: dict[str, object] = {
        "interaction_id": "ix-1",
        "source": {"topic": "cx.raw.chat", "partition": 0, "offset": 1},
        "channel": "chat",
        "event_type": "message",
        "identifiers": {"email": "a@example.com"},
        "customer_key": "cus_1",
        "occurred_at": START,
        "received_at": START,
        "author_role": "customer",
        "text": "The promo code is rejected at checkout.",
        "scored": True,
        "scores": {
            "sentiment": {"label": "negative", "probabilities": {"negative": 0.7, "positive": 0.1}}
        },
        "embedding": [0.6, 0.8],
    }
    return Enriched.model_validate({**base, **changes})


def test_only_scored_customer_messages_with_embeddings_are_sampled() -> None:
    found = sample_of(_enriched(), 1.0)
    assert found is not None and found.sentiment == pytest.approx(-0.6)
    assert sample_of(_enriched(author_role="agent"), 1.0) is None
    assert sample_of(_enriched(embedding=None), 1.0) is None
    assert sample_of(_enriched(scored=False, scores=None), 1.0) is None


def test_sampling_is_by_id_and_near_its_rate() -> None:
    ids = [f"ix-{n}" for n in range(4000)]
    kept = [i for i in ids if sampled(i, 0.25)]
    assert 0.22 < len(kept) / len(ids) < 0.28
    assert kept == [i for i in ids if sampled(i, 0.25)]


def test_late_messages_of_a_faded_issue_do_not_reopen_it() -> None:
    detector = TrendDetector(CONFIG, {})
    changes = _run(detector, _traffic(12, promo_from_h=8))
    assert changes[-1].trend.status == "faded"
    rng = random.Random(9)
    late = [
        _sample(5000 + n, 5, START + timedelta(hours=8, minutes=30 + n), rng) for n in range(12)
    ]
    assert _run(detector, late) == []
