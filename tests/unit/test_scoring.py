"""The committed default model, served by onnxruntime through the runtime code path."""

from __future__ import annotations

import json
from dataclasses import asdict
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from pipeline.scoring import labelled as labelled_set
from pipeline.scoring.card import file_sha256, load_card
from pipeline.scoring.enrich import enrich
from pipeline.scoring.scorer import Scored, Scorer
from pipeline.settings import Settings
from pipeline.tools.score_file import score_lines
from tests.unit.interactions import chat_interaction

MODEL_DIR = Settings().model_dir
REQUIRED_METRICS = {
    "sst2_dev_accuracy",
    "sentiment3_macro_recall",
    "goemotions_test_macro_f1",
    "banking77_test_accuracy",
    "tweeteval_test_macro_recall",
    "tweeteval_test_negative_recall",
    "tweeteval_test_ece",
    "vader_tweeteval_test_macro_recall",
    "urgency_macro_f1_heldout",
    "labelled_heldout_sentiment_accuracy",
    "labelled_heldout_negative_recall",
    "ece",
    "custom_intent_accuracy_retail",
    "custom_intent_accuracy_banking",
    "custom_intent_accuracy_travel",
    "sequences_per_second",
}


@cache
def scorer() -> Scorer:
    return Scorer(MODEL_DIR)


@cache
def labelled() -> list[dict[str, Any]]:
    return [asdict(message) for message in labelled_set.load()]


def test_committed_model_matches_its_card() -> None:
    card = load_card(MODEL_DIR)
    assert file_sha256(MODEL_DIR / "model.onnx") == card.sha256
    assert {h.name for h in card.heads} >= {"sentiment", "emotion", "intent", "urgency"}
    assert card.embedding_output == "embedding"
    assert set(card.metrics) >= REQUIRED_METRICS
    assert card.training_data and all(d.get("license") for d in card.training_data)
    assert card.limitations and card.intended_use
    assert "int8" in card.quantization
    assert (MODEL_DIR / "MODEL_CARD.md").read_text().count(card.sha256) >= 1


def test_card_meets_the_quality_targets() -> None:
    """The committed card's numbers meet the documented minimums (tests/unit/test_model_eval.py
    re-measures them)."""
    from tests.unit.test_model_eval import MAXIMA, MINIMA

    m = load_card(MODEL_DIR).metrics
    assert {k: m[k] for k in MINIMA if m[k] < MINIMA[k]} == {}
    assert {k: m[k] for k in MAXIMA if m[k] > MAXIMA[k]} == {}


def test_a_tampered_model_file_is_refused(tmp_path: Path) -> None:
    for name in ("model_card.json", "tokenizer.json", "MODEL_CARD.md"):
        (tmp_path / name).write_bytes((MODEL_DIR / name).read_bytes())
    (tmp_path / "model.onnx").write_bytes((MODEL_DIR / "model.onnx").read_bytes() + b"\0")
    with pytest.raises(ValueError, match="does not match its card"):
        Scorer(tmp_path)


def test_scores_are_deterministic_and_carry_provenance() -> None:
    texts = [r["text"] for r in labelled()[:40]]
    first = scorer().score(texts)
    second = scorer().score(texts)
    assert [a.scores for a in first] == [b.scores for b in second]
    card = scorer().card
    for result in first:
        assert result.ai.model == card.name and result.ai.sha256 == card.sha256
        assert set(result.ai.reasons) == {"sentiment", "intent", "urgency"}
        assert result.scores.urgency is not None
        urgency = result.scores.urgency
        assert result.ai.reasons["urgency"].startswith(f"urgency {urgency.level} (layer ")
        assert f"score {urgency.score:.2f})" in result.ai.reasons["urgency"]
        # the reported level is the higher of the layer's and the weak-label head's
        said = result.ai.reasons["urgency"].split("(", 1)[1]
        layer_level = said.split("layer ", 1)[1].split(" ", 1)[0]
        head_level = said.split("weak head ", 1)[1].split(";", 1)[0]
        order = ["low", "normal", "high", "critical"]
        assert urgency.level == max(layer_level, head_level, key=order.index)
        assert layer_level == max(urgency.probabilities, key=urgency.probabilities.__getitem__)
        assert result.embedding is not None and len(result.embedding) == 384


def _auc(higher: list[float], lower: list[float]) -> float:
    """P(a random item of ``higher`` outscores a random item of ``lower``), ties count half."""
    wins = sum((h > low) + 0.5 * (h == low) for h in higher for low in lower)
    return wins / (len(higher) * len(lower))


def test_clear_cut_messages_score_as_labelled() -> None:
    """Clear-cut urgent messages outscore calm ones, and no clear polarity is turned around.

    Exact level/label agreement on the whole set is reported by `models eval`
    (urgency_macro_f1, labelled_sentiment_accuracy); the levels are thresholds on the score.
    """
    clear = [r for r in labelled() if r["clear_cut"]]
    results = scorer().score([r["text"] for r in clear])
    urgency = [r.scores.urgency.score for r in results if r.scores.urgency is not None]
    polarity = [
        r.scores.sentiment.probabilities["negative"] - r.scores.sentiment.probabilities["positive"]
        for r in results
        if r.scores.sentiment is not None
    ]
    assert len(urgency) == len(polarity) == len(clear)
    urgent = [
        u for u, row in zip(urgency, clear, strict=True) if row["urgency"] in {"critical", "high"}
    ]
    calm = [u for u, row in zip(urgency, clear, strict=True) if row["urgency"] == "low"]
    negative = [p for p, row in zip(polarity, clear, strict=True) if row["sentiment"] == "negative"]
    positive = [p for p, row in zip(polarity, clear, strict=True) if row["sentiment"] == "positive"]
    assert _auc(urgent, calm) >= 0.9
    assert _auc(negative, positive) >= 0.95
    flipped = [
        (row["text"][:60], row["sentiment"], res.scores.sentiment.label)
        for row, res in zip(clear, results, strict=True)
        if res.scores.sentiment is not None
        and {row["sentiment"], res.scores.sentiment.label} == {"negative", "positive"}
    ]
    assert len(flipped) <= 0.05 * (len(negative) + len(positive)), flipped
    critical = [
        res.scores.urgency.level
        for row, res in zip(clear, results, strict=True)
        if row["urgency"] == "critical" and res.scores.urgency is not None
    ]
    assert sum(level in {"critical", "high"} for level in critical) >= 0.6 * len(critical)


def test_long_text_is_scored_on_head_and_tail_windows() -> None:
    long_text = "I was charged twice for my order. " + "filler words here " * 200 + "Refund me!"
    (result,) = scorer().score([long_text])
    assert result.ai.windows == 2
    (short,) = scorer().score(["Refund me!"])
    assert short.ai.windows == 1


def test_the_tail_window_holds_the_last_tokens() -> None:
    """[CLS] + the first tokens + [SEP], then [CLS] + the last tokens + [SEP]."""
    limit = scorer().card.max_length
    ids = list(range(3 * limit))  # distinct ids: a window's place in the text is visible
    span = limit - 2
    head, tail = scorer()._windows(ids)
    assert head == [ids[0], *ids[1 : 1 + span], ids[-1]]
    assert tail == [ids[0], *ids[-1 - span : -1], ids[-1]]
    assert scorer()._windows(ids[:limit]) == [ids[:limit]]


CALM = (
    "Hello team, I hope you are all well. I wanted to share some thoughts about the new "
    "garden furniture catalogue that arrived last week. The colours are lovely and the "
    "photos are very pleasant to browse on a quiet Sunday afternoon. "
) * 12
"""About 550 tokens: longer than the model's context (128) on its own."""
FURIOUS = (
    "URGENT: someone stole my card and emptied my account, I have been charged twice and "
    "nobody answers. This is a disgrace, I am furious, fix it right now or I go to the bank!"
)


def urgency(result: Scored) -> float:
    assert result.scores.urgency is not None
    return result.scores.urgency.score


def negative(result: Scored) -> float:
    assert result.scores.sentiment is not None
    return result.scores.sentiment.probabilities["negative"]


def test_the_end_of_a_long_text_counts_as_much_as_its_start() -> None:
    """A furious ending after a calm preamble raises urgency as much as a furious opening.

    Seen urgency scores (int8 model with its urgency layer): calm alone 0.10; calm then furious
    0.30; furious then calm 0.36 (P(negative) 0.03, 0.15, 0.19). Were the tail never scored,
    calm-then-furious would score as the calm preamble alone (a difference of 0).
    """
    calm, calm_then_furious, furious_then_calm = scorer().score(
        [CALM, CALM + FURIOUS, FURIOUS + " " + CALM], embeddings=False
    )
    assert [r.ai.windows for r in (calm, calm_then_furious, furious_then_calm)] == [2, 2, 2]
    for furious_part in (calm_then_furious, furious_then_calm):
        assert urgency(furious_part) >= urgency(calm) + 0.15
        assert negative(furious_part) >= negative(calm) + 0.08
    # one head and one tail window each, only in the other order: about the same average
    assert abs(urgency(calm_then_furious) - urgency(furious_then_calm)) <= 0.1


def test_enrich_scores_text_and_passes_the_rest_through_unscored() -> None:
    batch = [chat_interaction(0, "Someone stole my card!"), chat_interaction(1, None)]
    out = enrich(batch, scorer())
    assert [e.interaction_id for e in out] == ["ix_0", "ix_1"]
    assert out[0].scored and out[0].scores is not None and out[0].ai is not None
    assert out[0].embedding is None  # only with emit_embeddings
    assert not out[1].scored and out[1].unscored_reason == "no text to score"
    with_vectors = enrich(batch[:1], scorer(), emit_embeddings=True)
    assert with_vectors[0].embedding is not None and len(with_vectors[0].embedding) == 384


def test_score_lines_keeps_fields_and_explains_what_it_cannot_score() -> None:
    lines = [
        json.dumps({"id": 7, "text": "<p>Thanks, <b>great</b> help!</p>"}),
        "my parcel never arrived",
        json.dumps({"id": 8}),
        "",
        "[1, 2]",
    ]
    out = [json.loads(line) for line in score_lines(lines, scorer(), batch_size=2)]
    assert len(out) == 4
    assert out[0]["id"] == 7 and out[0]["scores"]["sentiment"]["label"] == "positive"
    assert out[1]["text"] == "my parcel never arrived" and "scores" in out[1]
    assert out[2] == {"id": 8, "error": "no string 'text' field"}
    assert out[3]["text"] == "[1, 2]" and "scores" in out[3]


def test_the_demo_account_takeover_chat_is_fraud_and_urgent() -> None:
    """The model issue's example (`make demo` prints it): fraud/security, high or critical."""
    texts = [
        "I am FURIOUS. Someone changed the email on my account and placed an order I didn't "
        "make (A-20931).",
        "Someone changed the email on my account and placed an order I didn't make (A-20931).",
    ]
    for text, result in zip(texts, scorer().score(texts, embeddings=False), strict=True):
        assert result.scores.intent is not None and result.scores.urgency is not None
        assert result.scores.intent.label == "fraud_security", (text, result.scores.intent)
        assert result.scores.urgency.level in {"high", "critical"}, (text, result.scores.urgency)
