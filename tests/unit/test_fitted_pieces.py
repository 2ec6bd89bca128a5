"""The pieces fitted on top of the ONNX graph: the sentiment decision rule and the two layers."""

from __future__ import annotations

import numpy as np

from pipeline.scoring.card import HeadSpec
from pipeline.scoring.layers import LinearLayer, layer_inputs
from pipeline.scoring.scorer import Scorer
from pipeline.settings import Settings
from pipeline.training.sentiment_rule import OFFSET_GRID, fit_offsets

LABELS = ["negative", "neutral", "positive"]


def test_offsets_recover_a_class_the_raw_argmax_drowns() -> None:
    """Negatives whose logits sit 1.0 below neutral are all called neutral by argmax; the fitted
    offset lifts negative recall without giving up the other classes."""
    rng = np.random.default_rng(3)
    rows, truth = [], []
    for label, centre in ((0, [0.0, 1.0, -2.0]), (1, [-2.0, 1.0, -2.0]), (2, [-2.0, 0.0, 2.0])):
        rows.append(rng.normal(centre, 0.3, size=(200, 3)))
        truth += [label] * 200
    logits, y = np.vstack(rows), np.array(truth)
    assert np.mean(logits[y == 0].argmax(axis=1) == 0) < 0.05
    offsets, recall = fit_offsets(logits, y, LABELS)
    assert offsets[1] == 0.0 and offsets[0] in OFFSET_GRID and offsets[0] >= 1.0
    assert recall > 0.9
    shifted = (logits + np.asarray(offsets)).argmax(axis=1)
    assert np.mean(shifted[y == 0] == 0) > 0.9


def test_head_probabilities_apply_the_offsets_before_the_temperature() -> None:
    head = HeadSpec(
        name="sentiment",
        output="sentiment_logits",
        activation="softmax",
        labels=LABELS,
        temperature=2.0,
        bias=[1.0, 0.0, 0.0],
    )
    logits = np.array([[0.0, 0.5, -1.0]])
    expected = np.exp(np.array([1.0, 0.5, -1.0]) / 2.0)
    np.testing.assert_allclose(head.probabilities(logits)[0], expected / expected.sum())
    assert head.probabilities(logits)[0].argmax() == 0  # without the offset: neutral


def test_urgency_layer_inputs_are_unit_length_and_probabilities_sum_to_one() -> None:
    rng = np.random.default_rng(5)
    embedding = rng.normal(size=(4, 8)) * 7
    probabilities = {"sentiment": np.full((4, 3), 1 / 3), "urgency": np.full((4, 4), 0.25)}
    inputs = layer_inputs(embedding, probabilities, ["embedding", "sentiment", "urgency"])
    assert inputs.shape == (4, 8 + 3 + 4)
    np.testing.assert_allclose(np.linalg.norm(inputs, axis=1), 1.0)
    layer = LinearLayer(
        labels=["low", "normal", "high", "critical"],
        features=["embedding", "sentiment", "urgency"],
        weights=rng.normal(size=(4, 15)).tolist(),
        bias=[0.0, 0.0, 0.0, 5.0],
    )
    probs = layer.probabilities(inputs)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert (probs.argmax(axis=1) == 3).all()  # the bias dominates unit-length inputs


def test_a_layer_temperature_softens_its_probabilities() -> None:
    layer = LinearLayer(
        labels=LABELS,
        features=["embedding"],
        weights=[[2.0, 0.0], [0.0, 0.0], [0.0, 2.0]],
        bias=[0.0, 0.0, 0.0],
        temperature=2.0,
    )
    expected = np.exp(np.array([2.0, 0.0, 0.0]) / 2.0)
    np.testing.assert_allclose(
        layer.probabilities(np.array([[1.0, 0.0]]))[0], expected / expected.sum()
    )


def test_the_sentiment_layer_decides_sentiment_and_leaves_the_urgency_layer_alone() -> None:
    """The urgency layer was fitted on the sentiment head's probabilities: it must keep
    reading those, whatever the sentiment layer reports."""
    plain = Scorer(Settings().model_dir)
    assert plain.card.urgency_layer is not None
    text = ["Thank you so much, the new card arrived and works perfectly!"]
    pooled, _ = plain.pooled(text)
    dim = pooled[str(plain.card.embedding_output)].shape[1]
    always_negative = LinearLayer(
        labels=LABELS, features=["embedding"], weights=[[0.0] * dim] * 3, bias=[6.0, 0.0, 0.0]
    )
    layered = Scorer(Settings().model_dir)
    layered.card = plain.card.model_copy(update={"sentiment_layer": always_negative})
    without = plain.card.model_copy(update={"sentiment_layer": None})
    plain.card = without
    before, after = plain.score(text)[0].scores, layered.score(text)[0].scores
    assert before.sentiment is not None and before.sentiment.label == "positive"
    assert after.sentiment is not None and after.sentiment.label == "negative"
    assert after.urgency == before.urgency


def test_layer_inputs_normalise_each_row_on_its_own() -> None:
    """Rows of other lengths, a zero sentence vector, and a row whose joined length is < 1."""
    embedding = np.array([[3.0, 4.0], [0.0, 0.5], [0.0, 0.0]])
    probabilities = {"sentiment": np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.0]])}
    inputs = layer_inputs(embedding, probabilities, ["embedding", "sentiment"])
    half = 1 / np.sqrt(2)
    expected = [
        [0.6 * half, 0.8 * half, half, 0.0],  # (3, 4) / 5 beside (1, 0): length sqrt(2)
        [0.0, half, 0.0, half],  # (0, 0.5) / 0.5 beside (0, 1)
        [0.0, 0.0, 1.0, 0.0],  # no vector: (0.5, 0) alone, scaled up to length 1
    ]
    np.testing.assert_allclose(inputs, expected, atol=1e-12)


def test_layer_inputs_are_float64_even_from_a_float32_embedding() -> None:
    embedding = np.array([[3.0, 4.0]], dtype=np.float32)
    inputs = layer_inputs(embedding, {}, ["embedding"])
    assert inputs.dtype == np.float64
    np.testing.assert_array_equal(inputs, [[0.6, 0.8]])
