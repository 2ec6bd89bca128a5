"""MODEL_CARD.md: the model card's facts written for people (no torch needed).

``write_card`` stores ``model_card.json`` and its Markdown rendering side by side; the build,
the sentiment decision rule and the card refresh all write through it.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.fairness.report import card_section
from pipeline.scoring import taxonomy
from pipeline.scoring.card import ModelCard

METRIC_NOTES: dict[str, tuple[str, str]] = {
    "tweeteval_test_macro_recall": (
        "TweetEval sentiment test (12,284 tweets, SemEval-2017), macro-averaged recall",
        "RoBERTa-base 0.713, BERTweet 0.734, FastText 0.629",
    ),
    "tweeteval_test_negative_recall": ("TweetEval test, recall of negative tweets", "-"),
    "tweeteval_test_neutral_recall": ("TweetEval test, recall of neutral tweets", "-"),
    "tweeteval_test_positive_recall": ("TweetEval test, recall of positive tweets", "-"),
    "tweeteval_test_accuracy": ("TweetEval test, 3-class accuracy", "-"),
    "tweeteval_test_ece": ("TweetEval test, sentiment ECE (15 bins, max probability)", "-"),
    "vader_tweeteval_test_macro_recall": (
        "VADER lexicon baseline on TweetEval test (compound ±0.05)",
        "-",
    ),
    "sst2_dev_accuracy": (
        "SST-2 dev (872), positive when P(positive) > P(negative)",
        "distilbert-base-uncased-finetuned-sst-2-english 0.913",
    ),
    "sentiment3_macro_recall": (
        "GoEmotions test mapped to negative/neutral/positive (mixed rows dropped)",
        "-",
    ),
    "goemotions_test_macro_f1": (
        "28 emotions, one global threshold chosen on dev",
        "BERT-base (Demszky et al. 2020) 0.46",
    ),
    "banking77_test_accuracy": ("BANKING77 test (3,080)", "published ~0.93 (Casanueva 2020)"),
    "cx_intent_accuracy": (
        "10 CX intents on BANKING77 test + CLINC150 test + oos_test, mapped by taxonomy.py",
        "-",
    ),
    "ece": ("sentiment head, GoEmotions test 3-class, 15 bins", "-"),
    "urgency_macro_f1_heldout": (
        "urgency level, macro-F1 over 4 levels, held-out split of the project's labelled set",
        "-",
    ),
    "labelled_heldout_sentiment_accuracy": (
        "sentiment, held-out split of the project's labelled set",
        "-",
    ),
    "labelled_heldout_negative_recall": (
        "negative recall, held-out split of the project's labelled set",
        "-",
    ),
}


def write_card(card: ModelCard, out_dir: Path) -> None:
    """model_card.json + MODEL_CARD.md."""
    (out_dir / "model_card.json").write_text(card.model_dump_json(indent=2) + "\n", "utf-8")
    (out_dir / "MODEL_CARD.md").write_text(render_markdown(card), "utf-8")


def fmt(value: float) -> str:
    """A metric as shown in the card: 4 decimals, or 1 for large numbers."""
    return f"{value:.4f}" if abs(value) < 10 else f"{value:.1f}"


def render_markdown(card: ModelCard) -> str:
    """MODEL_CARD.md: the card's facts for people."""
    sections = [
        _header(card),
        _trust(card),
        _outputs(card),
        _metrics(card),
        _calibration(card),
        _fidelity(card),
        card_section(card.fairness),
        _training(card),
        _closing(card),
    ]
    return "\n".join(line for section in sections for line in section)


def _header(card: ModelCard) -> list[str]:
    return [
        f"# {card.name} {card.version}",
        "",
        "One fine-tuned all-MiniLM-L6-v2 encoder pass (mean pooling) feeding five heads, exported "
        f"to ONNX and quantised: {card.quantization}. Built offline by "
        "`python -m pipeline.training.build` (`make models`); every number below was measured "
        "on this int8 `model.onnx` through the cxstream runtime (`OnnxModel`).",
        "",
        f"- file: `model.onnx`, sha256 `{card.sha256}`",
        f"- base model: `{card.base_model}` (Apache-2.0)",
        f"- languages: {', '.join(f'`{c}`' for c in card.languages)} (ISO 639-1); a text "
        "detected as any other language is not scored (`unscored_reason: unsupported_language`) "
        "and goes to a person",
        f"- inputs: {', '.join(f'`{i}`' for i in card.inputs)} (int64 [batch, seq], dynamic "
        f"padding with `[PAD]`), window {card.max_length} tokens (training used "
        f"{card.created_with.get('train_max_length', '64')})",
        f"- `{card.embedding_output}`: L2-normalised sentence vector [batch, 384]",
        "",
    ]


TRUST_ROWS: tuple[tuple[str, str, str, str, str], ...] = (
    (
        "sentiment label",
        "tweeteval_test_macro_recall",
        "TweetEval test: tweets about brands, products, events",
        "spotting unhappy customers in short English messages (chat, social, reviews, survey "
        "comments); negative recall is favoured by the decision rule",
        "sarcasm and irony, mixed verdicts, very long emails (head + tail only), any "
        "non-English text, single words",
    ),
    (
        "sentiment label",
        "labelled_heldout_sentiment_accuracy",
        "held-out customer messages to companies (project set)",
        "customer-service chats, emails, transcripts, survey comments",
        "messages written by agents, not customers; marketing copy",
    ),
    (
        "urgency level",
        "urgency_macro_f1_heldout",
        "held-out customer messages (project set, six industries)",
        "ordering a queue: critical/high vs normal/low",
        "as the only trigger for an irreversible action: keep a person in the loop; levels "
        "are judged from the message alone (no account history)",
    ),
    (
        "intent (10 CX intents)",
        "cx_intent_accuracy",
        "BANKING77 + CLINC150 test (banking and assistant queries)",
        "routing banking-style requests",
        "other industries' reasons for contact: use a business-defined intent pack "
        "(docs/intents.md) instead",
    ),
    (
        "banking77 detail",
        "banking77_test_accuracy",
        "BANKING77 test",
        "banking and card messages",
        "anything that is not about banking (it always names one of 77 categories)",
    ),
    (
        "emotions",
        "goemotions_test_macro_f1",
        "GoEmotions test (Reddit comments)",
        "frequent emotions (anger, gratitude, annoyance, joy)",
        "rare emotions (grief, pride, relief, nervousness): low F1",
    ),
)


def _trust(card: ModelCard) -> list[str]:
    lines = [
        "## How good is each output, on which text",
        "",
        "| output | measured on | number | use it for | do not trust it for |",
        "|---|---|---|---|---|",
    ]
    for output, key, measured_on, use, avoid in TRUST_ROWS:
        if key in card.metrics:
            number = f"{key} {fmt(card.metrics[key])}"
            lines.append(f"| {output} | {measured_on} | {number} | {use} | {avoid} |")
    return [*lines, ""]


def _outputs(card: ModelCard) -> list[str]:
    lines = [
        "## Outputs",
        "",
        "| head | output | activation | temperature | offsets | threshold | labels |",
        "|---|---|---|---|---|---|---|",
    ]
    for head in card.heads:
        labels = (
            ", ".join(head.labels)
            if len(head.labels) <= 28
            else f"{len(head.labels)} BANKING77 categories in categories.json order"
        )
        threshold = "" if head.threshold is None else f"{head.threshold:.2f}"
        offsets = "" if head.bias is None else ", ".join(f"{b:+.2f}" for b in head.bias)
        lines.append(
            f"| {head.name} | `{head.output}` | {head.activation} | {head.temperature:.3f} | "
            f"{offsets} | {threshold} | {labels} |"
        )
    levels = ", ".join(f"{k} ≥ {v:.2f}" for k, v in card.urgency_levels.items())
    note = card.calibration.get("urgency_levels", {}).get("note", "")
    return [
        *lines,
        "",
        "Softmax heads: probabilities = softmax((logits + offsets) / temperature); the label is "
        "the most probable class. Urgency score = Σ p(level) · [0, 1/3, 2/3, 1] over (low, "
        f"normal, high, critical); level thresholds on that score: {levels} ({note}).",
        "",
    ]


def _metrics(card: ModelCard) -> list[str]:
    lines = [
        "## Metrics (int8 ONNX)",
        "",
        "| metric | value | what | reference |",
        "|---|---|---|---|",
    ]
    for key, (what, reference) in METRIC_NOTES.items():
        if key in card.metrics:
            lines.append(f"| {key} | {fmt(card.metrics[key])} | {what} | {reference} |")
    throughput = card.calibration.get("throughput", {})
    if "sequences_per_second" in card.metrics:
        lines.append(
            f"| sequences_per_second | {fmt(card.metrics['sequences_per_second'])} | int8, "
            f"batch {throughput.get('batch', 32)}, {throughput.get('machine', 'this machine')} "
            "| - |"
        )
    return [*lines, ""]


def _calibration(card: ModelCard) -> list[str]:
    cal = card.calibration
    lines = [
        "## Calibration",
        "",
        "One temperature per softmax head, minimising NLL on held-out data (the int8 model's "
        "logits):",
        "",
        "| head | temperature | fitted on | NLL before | NLL after |",
        "|---|---|---|---|---|",
    ]
    for name, entry in cal.get("temperatures", {}).items():
        if name == "sentiment" and "sentiment_rule" in cal:
            continue
        lines.append(
            f"| {name} | {entry['temperature']:.3f} | {entry['fitted_on']} | "
            f"{entry['nll_before']:.4f} | {entry['nll_after']:.4f} |"
        )
    rule = cal.get("sentiment_rule")
    if rule:
        offsets = ", ".join(f"{k} {v:+.2f}" for k, v in rule["offsets"].items())
        lines += [
            f"| sentiment | {rule['temperature']:.3f} | {rule['fitted_on']}, after the offsets | "
            f"{rule['nll_before']:.4f} | {rule['nll_after']:.4f} |",
            "",
            f"Sentiment decision rule: {rule['method']}. Offsets: {offsets}. Macro recall on "
            f"TweetEval val: {rule['val_macro_recall_argmax']:.4f} with plain argmax, "
            f"{rule['val_macro_recall_rule']:.4f} with the rule.",
        ]
    layer = cal.get("sentiment_layer")
    if layer:
        lines += [
            "",
            f"Sentiment layer (the reported sentiment): {layer['method']}. Customer messages' "
            f"share {layer['customer_share']:.0%}, temperature {layer['temperature']:.3f}; "
            f"TweetEval val macro recall {layer['val_macro_recall']:.4f}; labelled customer "
            f"messages out of fold: macro recall {layer['customer_cv_macro_recall']:.4f}, "
            f"negative recall {layer['customer_cv_negative_recall']:.4f}. The head and its "
            "decision rule still feed the urgency layer.",
        ]
    emotion = cal.get("emotion_threshold", {})
    lines += [
        "",
        f"Emotion threshold {emotion.get('threshold', 0):.2f} maximises macro-F1 on GoEmotions "
        f"dev ({emotion.get('dev_macro_f1', 0):.4f}).",
        "",
    ]
    return lines


def _fidelity(card: ModelCard) -> list[str]:
    return [
        "## int8 vs fp32 fidelity",
        "",
        f"On {card.calibration.get('fidelity_texts', 512)} evaluation texts (SST-2 dev, "
        "GoEmotions test, BANKING77 test, CLINC150 test):",
        "",
        "| measure | value |",
        "|---|---|",
        *[f"| {k} | {v:.4f} |" for k, v in card.metrics.items() if k.startswith("int8_fp32_")],
        "",
    ]


def _training(card: ModelCard) -> list[str]:
    lines = [
        "## Training data",
        "",
        "| dataset | used | license | credit | source |",
        "|---|---|---|---|---|",
    ]
    for entry in card.training_data:
        lines.append(
            f"| {entry['name']} | {entry['rows_used']} | {entry['license']} | "
            f"{entry['citation']} | {entry.get('source', '')} |"
        )
    return [
        *lines,
        "",
        "## Training recipe",
        "",
        card.created_with.get("recipe", ""),
        "",
        "## Intent taxonomy (taxonomy.py)",
        "",
        taxonomy.intent_table_markdown(),
        "",
        "GoEmotions → sentiment: positive if the row's emotions are only positive ones "
        "(+ neutral), negative if only negative ones (+ neutral); only those two classes "
        "supervise the head (neutral logit masked): 3-class neutral is learnt from the tweets.",
        "",
        "## Urgency rule table (weak labels, first match wins)",
        "",
        taxonomy.urgency_table_markdown(),
        "",
    ]


def _closing(card: ModelCard) -> list[str]:
    minutes = float(card.created_with.get("wall_seconds", "0")) / 60
    return [
        "## Reproduce",
        "",
        "`make models` (= `HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 .venv-train/bin/python -m "
        "pipeline.training.build`, then the sentiment decision rule and the card refresh), "
        "offline, from `../shared/data`; seeded, so a rebuild on the same machine and library "
        f"versions gives the same graph. This build took {minutes:.1f} min "
        f"({card.created_with.get('machine', '')}).",
        "",
        *usage_sections(card),
    ]


def usage_sections(card: ModelCard) -> list[str]:
    """The closing sections every card has: intended use, limitations, created with."""
    return [
        "## Intended use",
        "",
        card.intended_use,
        "",
        "## Limitations",
        "",
        *[f"- {item}" for item in card.limitations],
        "",
        "## Created with",
        "",
        *[f"- {k}: {v}" for k, v in card.created_with.items() if k != "recipe"],
        "",
    ]
