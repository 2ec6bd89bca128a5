"""The CX label taxonomy and every rule that maps public dataset labels onto it.

Pure Python (no torch, no numpy), importable at run time. Everything here is data plus small
functions, so a person can audit exactly how a training label was derived:

* ``SENTIMENT_LABELS``, ``EMOTION_LABELS``, ``INTENT_LABELS``, ``URGENCY_LABELS``: head label
  orders of the ``cx-minilm-multihead`` model (the ONNX outputs use these orders).
* ``BANKING77_TO_INTENT`` / ``banking77_intent``: the 77 BANKING77 categories → CX intent.
* ``CLINC150_TO_INTENT`` / ``clinc150_intent``: CLINC150 intents → CX intent; every intent not
  listed (domains that are not customer service, and ``oos``) → ``"other"``.
* ``goemotions_sentiment``: GoEmotions emotion set → negative / neutral / positive (or None).
* ``goemotions_intent``: GoEmotions emotion set → complaint / praise / other (or None).
* ``URGENCY_RULES`` / ``urgency_for``: the weak urgency label of a row, first matching rule wins.

Why this module is long: most of it is the mapping tables themselves (the 77 BANKING77
categories and the CLINC150 intents grouped by CX intent, the emotion sets, the urgency rules),
one label a line so that a label change shows up as a one-line diff, with the few functions
that read them. Splitting the tables from the functions that apply them would make an audit
follow two files for one decision.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

SENTIMENT_LABELS: tuple[str, ...] = ("negative", "neutral", "positive")
INTENT_LABELS: tuple[str, ...] = (
    "billing",
    "refunds",
    "delivery",
    "account_access",
    "fraud_security",
    "cancellation",
    "technical_problem",
    "complaint",
    "praise",
    "other",
)
URGENCY_LABELS: tuple[str, ...] = ("low", "normal", "high", "critical")
URGENCY_WEIGHTS: dict[str, float] = {"low": 0.0, "normal": 1 / 3, "high": 2 / 3, "critical": 1.0}
"""Urgency score = Σ p(level) · weight(level), in 0..1."""
DEFAULT_URGENCY_LEVELS: dict[str, float] = {
    "low": 0.0,
    "normal": 0.3,
    "high": 0.6,
    "critical": 0.85,
}
"""Urgency level → lowest score that reaches it (the runtime picks the highest level reached)."""

# GoEmotions' 28 labels in emotions.txt order (ids 0..27).
EMOTION_LABELS: tuple[str, ...] = (
    "admiration",
    "amusement",
    "anger",
    "annoyance",
    "approval",
    "caring",
    "confusion",
    "curiosity",
    "desire",
    "disappointment",
    "disapproval",
    "disgust",
    "embarrassment",
    "excitement",
    "fear",
    "gratitude",
    "grief",
    "joy",
    "love",
    "nervousness",
    "optimism",
    "pride",
    "realization",
    "relief",
    "remorse",
    "sadness",
    "surprise",
    "neutral",
)

# GoEmotions' sentiment_dict.json (the authors' grouping of the 27 emotions).
POSITIVE_EMOTIONS: frozenset[str] = frozenset(
    {
        "amusement",
        "excitement",
        "joy",
        "love",
        "desire",
        "optimism",
        "caring",
        "pride",
        "admiration",
        "gratitude",
        "relief",
        "approval",
    }
)
NEGATIVE_EMOTIONS: frozenset[str] = frozenset(
    {
        "fear",
        "nervousness",
        "remorse",
        "embarrassment",
        "disappointment",
        "sadness",
        "grief",
        "disgust",
        "anger",
        "annoyance",
        "disapproval",
    }
)
AMBIGUOUS_EMOTIONS: frozenset[str] = frozenset(
    {"realization", "surprise", "curiosity", "confusion"}
)

COMPLAINT_EMOTIONS: frozenset[str] = frozenset({"anger", "annoyance", "disapproval", "disgust"})
"""A GoEmotions row with one of these (and no positive emotion) is a ``complaint``."""
PRAISE_EMOTIONS: frozenset[str] = frozenset({"gratitude", "admiration"})
"""A GoEmotions row with one of these (and no negative emotion) is ``praise``."""

# -- BANKING77 → CX intent ------------------------------------------------------------------------
_BANKING77_GROUPS: dict[str, tuple[str, ...]] = {
    # Charges, fees, rates, balances, top-ups, transfers and payments in flight.
    "billing": (
        "automatic_top_up",
        "balance_not_updated_after_bank_transfer",
        "balance_not_updated_after_cheque_or_cash_deposit",
        "card_payment_fee_charged",
        "card_payment_wrong_exchange_rate",
        "cash_withdrawal_charge",
        "exchange_charge",
        "exchange_rate",
        "exchange_via_app",
        "extra_charge_on_statement",
        "pending_card_payment",
        "pending_cash_withdrawal",
        "pending_top_up",
        "pending_transfer",
        "receiving_money",
        "top_up_by_bank_transfer_charge",
        "top_up_by_card_charge",
        "top_up_by_cash_or_cheque",
        "top_up_limits",
        "top_up_reverted",
        "topping_up_by_card",
        "transaction_charged_twice",
        "transfer_fee_charged",
        "transfer_into_account",
        "transfer_not_received_by_recipient",
        "transfer_timing",
        "verify_top_up",
        "wrong_amount_of_cash_received",
        "wrong_exchange_rate_for_cash_withdrawal",
    ),
    # Money the customer wants back, or a reversal.
    "refunds": ("Refund_not_showing_up", "request_refund", "reverted_card_payment?"),
    # A physical item on its way (cards).
    "delivery": (
        "card_about_to_expire",
        "card_arrival",
        "card_delivery_estimate",
        "get_physical_card",
        "getting_spare_card",
        "order_physical_card",
    ),
    # Getting into / proving / changing the account.
    "account_access": (
        "activate_my_card",
        "card_linking",
        "change_pin",
        "edit_personal_details",
        "passcode_forgotten",
        "pin_blocked",
        "unable_to_verify_identity",
        "verify_my_identity",
        "verify_source_of_funds",
        "why_verify_identity",
    ),
    # Unrecognised activity, lost / stolen / compromised card or phone.
    "fraud_security": (
        "card_payment_not_recognised",
        "cash_withdrawal_not_recognised",
        "compromised_card",
        "direct_debit_payment_not_recognised",
        "lost_or_stolen_card",
        "lost_or_stolen_phone",
    ),
    "cancellation": ("cancel_transfer", "terminate_account"),
    # Something that should work fails (card, payment, transfer, top-up).
    "technical_problem": (
        "beneficiary_not_allowed",
        "card_not_working",
        "card_swallowed",
        "contactless_not_working",
        "declined_card_payment",
        "declined_cash_withdrawal",
        "declined_transfer",
        "failed_transfer",
        "top_up_failed",
        "virtual_card_not_working",
    ),
    # General product questions: no customer-service issue.
    "other": (
        "age_limit",
        "apple_pay_or_google_pay",
        "atm_support",
        "card_acceptance",
        "country_support",
        "disposable_card_limits",
        "fiat_currency_support",
        "get_disposable_virtual_card",
        "getting_virtual_card",
        "supported_cards_and_currencies",
        "visa_or_mastercard",
    ),
}
BANKING77_TO_INTENT: dict[str, str] = {
    label: intent for intent, labels in _BANKING77_GROUPS.items() for label in labels
}
"""Every BANKING77 category (77) → its CX intent."""

# -- CLINC150 → CX intent (unlisted intents, incl. oos → "other") --------------------------------
_CLINC150_GROUPS: dict[str, tuple[str, ...]] = {
    "billing": (
        "apr",
        "balance",
        "bill_balance",
        "bill_due",
        "credit_limit",
        "credit_limit_change",
        "exchange_rate",
        "interest_rate",
        "international_fees",
        "min_payment",
        "pay_bill",
        "spending_history",
        "transactions",
        "transfer",
    ),
    "delivery": (
        "lost_luggage",
        "new_card",
        "order_checks",
        "order_status",
        "replacement_card_duration",
    ),
    "account_access": ("account_blocked", "pin_change"),
    "fraud_security": ("freeze_account", "report_fraud", "report_lost_card"),
    "cancellation": ("cancel_reservation",),
    "technical_problem": ("card_declined", "damaged_card"),
    "praise": ("thank_you",),
}
CLINC150_TO_INTENT: dict[str, str] = {
    label: intent for intent, labels in _CLINC150_GROUPS.items() for label in labels
}
"""CLINC150 intents that are customer-service issues → CX intent; all others map to "other"."""

# Fine-grained intents (BANKING77 / CLINC150 names) where money or access is stuck right now.
HIGH_URGENCY_FINE_INTENTS: frozenset[str] = frozenset(
    {
        "Refund_not_showing_up",
        "balance_not_updated_after_bank_transfer",
        "balance_not_updated_after_cheque_or_cash_deposit",
        "card_swallowed",
        "transaction_charged_twice",
        "transfer_not_received_by_recipient",
        "wrong_amount_of_cash_received",
    }
)
HIGH_URGENCY_EMOTIONS: frozenset[str] = frozenset({"anger", "disgust", "fear"})
# account_access intents that are routine changes, not a customer locked out.
ROUTINE_ACCOUNT_FINE_INTENTS: frozenset[str] = frozenset(
    {
        "card_linking",
        "change_pin",
        "edit_personal_details",
        "pin_change",
        "verify_source_of_funds",
        "why_verify_identity",
    }
)


def banking77_intent(category: str) -> str:
    """CX intent of a BANKING77 category; KeyError for an unknown category."""
    return BANKING77_TO_INTENT[category]


def clinc150_intent(intent: str) -> str:
    """CX intent of a CLINC150 intent (``oos`` and non-customer-service intents → ``other``)."""
    return CLINC150_TO_INTENT.get(intent, "other")


def _emotion_set(emotions: Iterable[str]) -> frozenset[str]:
    found = frozenset(emotions)
    unknown = found - set(EMOTION_LABELS)
    if unknown:
        raise ValueError(f"unknown GoEmotions labels: {sorted(unknown)}")
    return found


def goemotions_sentiment(emotions: Iterable[str]) -> str | None:
    """Three-class sentiment of a GoEmotions row, or None for a mixed row (dropped).

    positive: only positive emotions (+ neutral); negative: only negative emotions (+ neutral);
    neutral: only ``neutral`` and/or ambiguous emotions. Anything else mixes groups → None.
    """
    found = _emotion_set(emotions) - {"neutral"}
    if not found or found <= AMBIGUOUS_EMOTIONS:
        return "neutral"
    if found <= POSITIVE_EMOTIONS:
        return "positive"
    if found <= NEGATIVE_EMOTIONS:
        return "negative"
    return None


def goemotions_intent(emotions: Iterable[str]) -> str | None:
    """CX intent of a GoEmotions row, or None (the row does not supervise the intent head).

    complaint: any of anger/annoyance/disapproval/disgust and no positive emotion;
    praise: gratitude or admiration and no negative emotion; other: exactly ``neutral``.
    """
    found = _emotion_set(emotions)
    if found & COMPLAINT_EMOTIONS and not found & POSITIVE_EMOTIONS:
        return "complaint"
    if found & PRAISE_EMOTIONS and not found & NEGATIVE_EMOTIONS:
        return "praise"
    if found == {"neutral"}:
        return "other"
    return None


# -- urgency --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UrgencyRule:
    """One row of the urgency table: every non-empty condition must hold (AND across fields,
    OR within a field). ``not_sentiments`` excludes sentiments; an unknown sentiment passes it."""

    level: str
    reason: str
    intents: frozenset[str] = frozenset()
    fine_intents: frozenset[str] = frozenset()
    emotions: frozenset[str] = frozenset()
    sentiments: frozenset[str] = frozenset()
    not_sentiments: frozenset[str] = frozenset()

    def matches(
        self,
        intent: str | None,
        fine_intent: str | None,
        emotions: frozenset[str],
        sentiment: str | None,
    ) -> bool:
        """Whether a row with these labels meets every condition of the rule."""
        if self.intents and intent not in self.intents:
            return False
        if self.fine_intents and fine_intent not in self.fine_intents:
            return False
        if self.emotions and not emotions & self.emotions:
            return False
        if self.sentiments and sentiment not in self.sentiments:
            return False
        return not (sentiment is not None and sentiment in self.not_sentiments)

    def condition(self) -> str:
        """The rule's conditions as one line of text (for tables)."""
        parts = []
        if self.intents:
            parts.append("intent ∈ {" + ", ".join(sorted(self.intents)) + "}")
        if self.fine_intents:
            parts.append("fine intent ∈ {" + ", ".join(sorted(self.fine_intents)) + "}")
        if self.emotions:
            parts.append("emotion ∈ {" + ", ".join(sorted(self.emotions)) + "}")
        if self.sentiments:
            parts.append("sentiment ∈ {" + ", ".join(sorted(self.sentiments)) + "}")
        if self.not_sentiments:
            parts.append("sentiment ∉ {" + ", ".join(sorted(self.not_sentiments)) + "}")
        return " and ".join(parts) or "(anything else)"


URGENCY_RULES: tuple[UrgencyRule, ...] = (
    UrgencyRule(
        "critical",
        "money or credentials at risk: fraud, unrecognised payments, lost/stolen card or phone",
        intents=frozenset({"fraud_security"}),
    ),
    UrgencyRule(
        "high",
        "customer wants to leave or cancel (churn risk, time-critical)",
        intents=frozenset({"cancellation"}),
    ),
    UrgencyRule(
        "high",
        "money stuck or wrong right now (double charge, missing refund/transfer/cash)",
        fine_intents=HIGH_URGENCY_FINE_INTENTS,
    ),
    UrgencyRule(
        "high",
        "a service issue reported with negative sentiment",
        intents=frozenset({"billing", "refunds", "delivery", "technical_problem"}),
        sentiments=frozenset({"negative"}),
    ),
    UrgencyRule(
        "high",
        "angry, disgusted or afraid customer",
        emotions=HIGH_URGENCY_EMOTIONS,
    ),
    UrgencyRule(
        "normal",
        "routine account maintenance, nothing blocked",
        fine_intents=ROUTINE_ACCOUNT_FINE_INTENTS,
    ),
    UrgencyRule(
        "high",
        "customer is locked out or cannot verify",
        intents=frozenset({"account_access"}),
    ),
    UrgencyRule("low", "praise or thanks", intents=frozenset({"praise"})),
    UrgencyRule(
        "low",
        "not a customer-service matter",
        intents=frozenset({"other"}),
        not_sentiments=frozenset({"negative"}),
    ),
    UrgencyRule("low", "positive message", sentiments=frozenset({"positive"})),
    UrgencyRule(
        "normal",
        "routine question or request; neutral or mildly negative message",
    ),
)
"""The urgency table, first matching rule wins (the last rule matches everything)."""


def urgency_rule(
    intent: str | None = None,
    fine_intent: str | None = None,
    emotions: Iterable[str] = (),
    sentiment: str | None = None,
) -> UrgencyRule:
    """The first rule of ``URGENCY_RULES`` that a row with these labels matches."""
    found = _emotion_set(emotions)
    for rule in URGENCY_RULES:
        if rule.matches(intent, fine_intent, found, sentiment):
            return rule
    raise AssertionError("the last urgency rule matches everything")  # pragma: no cover


def urgency_for(
    intent: str | None = None,
    fine_intent: str | None = None,
    emotions: Iterable[str] = (),
    sentiment: str | None = None,
) -> str:
    """Weak urgency level of a row from its (mapped) labels; any of them may be unknown.

    ``intent`` is a CX intent, ``fine_intent`` the source dataset's own intent name,
    ``emotions`` GoEmotions names, ``sentiment`` one of ``SENTIMENT_LABELS``.
    """
    return urgency_rule(intent, fine_intent, emotions, sentiment).level


def urgency_table_markdown() -> str:
    """``URGENCY_RULES`` as a markdown table (model card, README)."""
    lines = ["| # | level | when | why |", "|---|---|---|---|"]
    for number, rule in enumerate(URGENCY_RULES, start=1):
        lines.append(f"| {number} | {rule.level} | {rule.condition()} | {rule.reason} |")
    return "\n".join(lines)


def intent_table_markdown() -> str:
    """The BANKING77 / CLINC150 / GoEmotions → CX intent mapping as a markdown table."""
    lines = ["| CX intent | BANKING77 categories | CLINC150 intents | GoEmotions rows |"]
    lines.append("|---|---|---|---|")
    goemotions = {
        "complaint": "any of " + ", ".join(sorted(COMPLAINT_EMOTIONS)) + "; no positive emotion",
        "praise": "any of " + ", ".join(sorted(PRAISE_EMOTIONS)) + "; no negative emotion",
        "other": "only neutral",
    }
    for intent in INTENT_LABELS:
        banking = ", ".join(_BANKING77_GROUPS.get(intent, ())) or "-"
        clinc = ", ".join(_CLINC150_GROUPS.get(intent, ())) or "-"
        if intent == "other":
            clinc = "every intent not listed above, and oos"
        lines.append(f"| {intent} | {banking} | {clinc} | {goemotions.get(intent, '-')} |")
    return "\n".join(lines)


def _check() -> None:
    assert len(BANKING77_TO_INTENT) == 77, len(BANKING77_TO_INTENT)
    assert len(EMOTION_LABELS) == 28
    grouped = POSITIVE_EMOTIONS | NEGATIVE_EMOTIONS | AMBIGUOUS_EMOTIONS
    assert grouped == set(EMOTION_LABELS) - {"neutral"}
    mapped = set(BANKING77_TO_INTENT.values()) | set(CLINC150_TO_INTENT.values())
    assert mapped <= set(INTENT_LABELS), mapped - set(INTENT_LABELS)
    assert {rule.level for rule in URGENCY_RULES} <= set(URGENCY_LABELS)


_check()
