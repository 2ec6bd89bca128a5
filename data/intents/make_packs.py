"""Rebuild the bundled intent packs from the public datasets (run from the repository root).

    .venv/bin/python data/intents/make_packs.py [--data-dir ../shared/data]

Seeded and model-free: for each intent, the source's training rows are filtered (no template
placeholders, 3-40 words, no exact repeats), shuffled with a fixed seed, and taken in that
order while skipping near-repeats (word overlap above 0.5 with an example already taken), so
the first 5 and first 10 examples are as varied as the whole list. Held-out rows for
measurement (``pipeline/scoring/custom_intents/sources.py``) are never among the examples.
Only the header comments, descriptions (banking's are made from the intent names), queues,
priorities and the hand-written travel examples below are written by hand.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
SEED = 15
PER_INTENT = 20
OOS_EXAMPLES = 25

RETAIL: dict[str, tuple[str, str, str]] = {
    # intent: (description, queue, priority)
    "cancel_order": ("Wants to cancel an order they placed.", "orders", "normal"),
    "change_order": ("Wants to change the items or details of an order.", "orders", "normal"),
    "place_order": ("Wants to buy something or needs help placing an order.", "orders", "normal"),
    "track_order": ("Asks where an order or parcel is.", "logistics", "normal"),
    "delivery_period": ("Asks how long delivery takes or when it will arrive.", "logistics", "low"),
    "delivery_options": ("Asks which shipping methods are offered.", "logistics", "low"),
    "change_shipping_address": ("Wants to change the delivery address.", "logistics", "normal"),
    "set_up_shipping_address": ("Wants to add or set up a shipping address.", "logistics", "low"),
    "check_invoice": ("Wants to see or check an invoice or bill.", "billing", "low"),
    "get_invoice": ("Asks for a copy of an invoice.", "billing", "low"),
    "check_payment_methods": ("Asks which payment methods are accepted.", "billing", "low"),
    "payment_issue": ("Reports a payment that failed or went wrong.", "billing", "high"),
    "check_cancellation_fee": ("Asks whether cancelling costs a fee.", "billing", "low"),
    "check_refund_policy": ("Asks about the refund or return policy.", "billing", "low"),
    "get_refund": ("Wants their money back.", "billing", "normal"),
    "track_refund": ("Asks about the status of a refund.", "billing", "normal"),
    "create_account": ("Wants to open a new account.", "account_support", "low"),
    "edit_account": ("Wants to change account details.", "account_support", "low"),
    "switch_account": ("Wants to switch to another account or plan.", "account_support", "low"),
    "delete_account": ("Wants to close or delete their account.", "retention", "normal"),
    "recover_password": (
        "Cannot log in and wants to reset the password.",
        "account_support",
        "normal",
    ),
    "registration_problems": ("Has trouble signing up.", "account_support", "normal"),
    "newsletter_subscription": ("Wants to subscribe to or leave the newsletter.", "general", "low"),
    "complaint": ("Wants to complain about the service or a product.", "complaints", "high"),
    "review": ("Wants to leave feedback or a review.", "feedback", "low"),
    "contact_customer_service": ("Asks how to reach customer service.", "general", "normal"),
    "contact_human_agent": ("Wants to speak to a person, not a bot.", "general", "high"),
}

BANKING_QUEUES = {
    "fraud": (
        "compromised_card lost_or_stolen_card lost_or_stolen_phone card_payment_not_recognised "
        "cash_withdrawal_not_recognised direct_debit_payment_not_recognised"
    ),
    "cards": (
        "activate_my_card card_about_to_expire card_acceptance card_arrival "
        "card_delivery_estimate card_linking card_not_working card_swallowed change_pin "
        "contactless_not_working disposable_card_limits get_disposable_virtual_card "
        "get_physical_card getting_spare_card getting_virtual_card order_physical_card "
        "pin_blocked virtual_card_not_working visa_or_mastercard apple_pay_or_google_pay "
        "supported_cards_and_currencies country_support fiat_currency_support age_limit"
    ),
    "payments": (
        "card_payment_fee_charged card_payment_wrong_exchange_rate declined_card_payment "
        "pending_card_payment reverted_card_payment extra_charge_on_statement "
        "transaction_charged_twice request_refund refund_not_showing_up exchange_charge "
        "exchange_rate exchange_via_app"
    ),
    "cash": (
        "atm_support cash_withdrawal_charge declined_cash_withdrawal pending_cash_withdrawal "
        "wrong_amount_of_cash_received wrong_exchange_rate_for_cash_withdrawal"
    ),
    "transfers": (
        "beneficiary_not_allowed cancel_transfer declined_transfer failed_transfer "
        "pending_transfer receiving_money transfer_fee_charged transfer_into_account "
        "transfer_not_received_by_recipient transfer_timing "
        "balance_not_updated_after_bank_transfer balance_not_updated_after_cheque_or_cash_deposit"
    ),
    "top_ups": (
        "automatic_top_up pending_top_up top_up_by_bank_transfer_charge top_up_by_card_charge "
        "top_up_by_cash_or_cheque top_up_failed top_up_limits top_up_reverted topping_up_by_card "
        "verify_top_up"
    ),
    "account_support": (
        "edit_personal_details passcode_forgotten terminate_account unable_to_verify_identity "
        "verify_my_identity verify_source_of_funds why_verify_identity"
    ),
}
BANKING_PRIORITY = {
    "compromised_card": "critical",
    "lost_or_stolen_card": "critical",
    "lost_or_stolen_phone": "critical",
    "card_payment_not_recognised": "high",
    "cash_withdrawal_not_recognised": "high",
    "direct_debit_payment_not_recognised": "high",
    "card_swallowed": "high",
    "transaction_charged_twice": "high",
    "wrong_amount_of_cash_received": "high",
    "transfer_not_received_by_recipient": "high",
    "pin_blocked": "high",
    "terminate_account": "normal",
}
BANKING_WORDS = {
    "pin": "PIN",
    "atm": "ATM",
    "apple": "Apple",
    "google": "Google",
    "visa": "Visa",
    "mastercard": "Mastercard",
}

TRAVEL_CLINC = {
    # CLINC150 travel domain
    "book_flight": ("Wants to book a flight.", "bookings", "normal"),
    "book_hotel": ("Wants to book a hotel room.", "bookings", "normal"),
    "car_rental": ("Wants to rent a car.", "bookings", "normal"),
    "flight_status": (
        "Asks whether a flight is on time, its gate or arrival.",
        "travel_info",
        "normal",
    ),
    "carry_on": ("Asks about carry-on or cabin bag rules.", "travel_info", "low"),
    "international_visa": ("Asks whether a visa is needed for a trip.", "travel_info", "low"),
    "travel_alert": ("Asks about travel warnings for a destination.", "travel_info", "low"),
    "travel_notification": ("Tells us about upcoming travel dates abroad.", "travel_info", "low"),
    "travel_suggestion": ("Asks what to see or do at a destination.", "travel_info", "low"),
    "vaccines": ("Asks which vaccinations a trip needs.", "travel_info", "low"),
    "plug_type": ("Asks which plug or adapter a country uses.", "travel_info", "low"),
    "exchange_rate": ("Asks for a currency exchange rate.", "travel_info", "low"),
    "timezone": ("Asks about the time zone of a place.", "travel_info", "low"),
    "translate": ("Asks how to say something in another language.", "travel_info", "low"),
    # CLINC150 auto_and_commute domain
    "uber": ("Wants a ride booked (taxi, Uber).", "ground_transport", "normal"),
    "traffic": ("Asks about traffic on a route.", "ground_transport", "low"),
    "directions": ("Asks for directions to a place.", "ground_transport", "low"),
    "distance": ("Asks how far a place is.", "ground_transport", "low"),
    "current_location": ("Asks where they are right now.", "ground_transport", "low"),
    "gas": ("Asks about fuel level or where to fill up.", "ground_transport", "low"),
    "gas_type": ("Asks which fuel a car takes.", "ground_transport", "low"),
    "mpg": ("Asks about a car's fuel economy.", "ground_transport", "low"),
    "tire_pressure": ("Asks about tyre pressure.", "roadside", "low"),
    "tire_change": ("Needs to change a tyre or asks how.", "roadside", "normal"),
    "jump_start": ("Needs to jump-start a car battery.", "roadside", "high"),
    "oil_change_how": ("Asks how to change a car's oil.", "roadside", "low"),
    "oil_change_when": ("Asks when the oil needs changing.", "roadside", "low"),
    "schedule_maintenance": ("Wants to book a car service.", "roadside", "low"),
    "last_maintenance": ("Asks when the car was last serviced.", "roadside", "low"),
}
# CLINC150's lost_luggage becomes part of the hand-written lost_or_damaged_baggage intent.
CLINC_INTO_OWN = {"lost_luggage": "lost_or_damaged_baggage"}
OWN_CLINC_SHARE = 10  # CLINC lost_luggage examples added to the hand-written baggage intent

TRAVEL_OWN: dict[str, tuple[str, str, str, list[str]]] = {
    "flight_delay": (
        "The flight is late or was delayed; wants news, care or compensation.",
        "disruptions",
        "high",
        [
            "my flight has been delayed by four hours, what are my rights",
            "we have been sitting at the gate for three hours and nobody tells us anything",
            "Our departure keeps getting pushed back, is there any compensation for this delay?",
            "the 7am to Madrid is showing delayed again, will I miss my connection?",
            "I arrived 5 hours late because of your delay and want the compensation I'm owed",
            "flight delayed overnight, are you going to pay for a hotel?",
            "why is BA 287 delayed and how long will it be",
            "delayed 2h at Gatwick, can I get a meal voucher",
            "Our plane was late and we missed the last train home. Who pays for the taxi?",
            "it's the third delay announcement today, what is actually going on with my flight",
        ],
    ),
    "flight_cancellation": (
        "The airline cancelled the flight; wants rebooking, care or compensation.",
        "disruptions",
        "critical",
        [
            "you cancelled my flight an hour before boarding, how do I get home",
            "my flight to Rome got cancelled, please rebook me on the next one",
            "Just got a text saying my flight is cancelled. What now?",
            "flight cancelled due to strike, am I entitled to compensation",
            "They cancelled our return flight and we are stuck in Lisbon with two kids",
            "the evening flight to Dublin was cancelled, can you put me on tomorrow's first flight",
            "my connecting flight was cancelled and the desk is closed",
            "cancelled flight, no rebooking offered, I need a hotel tonight",
            "why was my flight cancelled without any notice?",
            "our holiday flight was axed, do we get a full refund or a new flight",
        ],
    ),
    "cancel_booking": (
        "The customer wants to cancel their own booking or trip.",
        "bookings",
        "normal",
        [
            "I need to cancel my booking for next week",
            "how do I cancel my hotel reservation",
            "please cancel my trip to Paris, booking ref QX7P2L",
            "can I cancel my flight and what does it cost",
            "we can't travel anymore, cancel both tickets please",
            "I want to cancel the package holiday I booked in March",
            "is there a fee to cancel my reservation",
            "cancel my return leg only, I'm staying longer",
            "my mum is ill so I have to call off the trip, how do I cancel",
        ],
    ),
    "lost_or_damaged_baggage": (
        "A checked bag is missing, delayed or arrived damaged.",
        "baggage",
        "high",
        [
            "my suitcase came off the carousel with a broken wheel and a torn side",
            "the handle of my bag was ripped off during the flight, how do I claim",
            "my bag never arrived in Berlin",
            "It's been 3 days and my luggage still hasn't been delivered to the hotel",
            "my case arrived soaking wet and my clothes are ruined",
            "Checked bag didn't show up at baggage claim, what do I do",
            "how do I file a claim for a damaged suitcase",
            "the zip on my luggage is broken and things are missing from inside",
            "your baggage handlers smashed my guitar case",
            "my pushchair was damaged in the hold",
        ],
    ),
    "seat_selection": (
        "Wants to choose, change or sit together in seats.",
        "bookings",
        "low",
        [
            "can I choose my seat before check-in",
            "how do I change my seat to a window seat",
            "we were split up, can my daughter and I sit together",
            "I paid for extra legroom but got a middle seat",
            "is it possible to pick an aisle seat on the flight to Nice",
            "how much does it cost to reserve seats",
            "I need a seat near the front because of my knee",
            "the app won't let me select seats for my return flight",
            "move me to an exit row please",
        ],
    ),
    "refund_request": (
        "Wants money back for a trip, ticket or extra.",
        "billing",
        "normal",
        [
            "I want a refund for my cancelled flight",
            "when will I get my money back for the trip you cancelled",
            "please refund the baggage fee, my bag never flew",
            "I was charged twice for my hotel, I want a refund",
            "I applied for a refund six weeks ago and still nothing",
            "can I get a refund instead of a voucher",
            "refund the seat I paid for but never got",
            "how long do refunds take to come through",
            "the refund you sent was less than I paid",
        ],
    ),
}


def words(text: str) -> set[str]:
    """The lowercase words of a text (for the near-repeat rule)."""
    return {re.sub(r"\d+", "0", w) for w in re.findall(r"[a-z0-9']+", text.lower())}


def usable(text: str) -> bool:
    """A clean, ordinary-length customer message (no template placeholders)."""
    return "{{" not in text and 3 <= len(text.split()) <= 40


def pick(texts: list[str], count: int, rng: random.Random) -> list[str]:
    """``count`` varied texts in a seeded order: no exact or near repeats."""
    pool = list(dict.fromkeys(t.strip() for t in texts if usable(t)))
    rng.shuffle(pool)
    chosen: list[str] = []
    seen: set[str] = set()
    for text in pool:
        ws = words(text)
        if text.casefold() in seen:
            continue
        if any(len(ws & words(c)) / max(len(ws | words(c)), 1) > 0.5 for c in chosen):
            continue
        chosen.append(text)
        seen.add(text.casefold())
        if len(chosen) == count:
            break
    return chosen


def snake(label: str) -> str:
    """A source label as a pack intent name (``Refund_not_showing_up`` → lowercase, no '?')."""
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


def oos_examples(data: Path, rng: random.Random) -> list[str]:
    """Out-of-scope examples from CLINC150 oos_train (never its test split)."""
    clinc = json.loads((data / "clinc150" / "data_full.json").read_text())
    return pick([t for t, _ in clinc["oos_train"]], OOS_EXAMPLES, rng)


def write(path: Path, header: str, pack: dict[str, Any]) -> None:
    """The pack as YAML under its header comment."""
    body = yaml.safe_dump(pack, sort_keys=False, allow_unicode=True, width=100)
    path.write_text(header.strip() + "\n\n" + body, encoding="utf-8")
    print(f"wrote {path} ({len(pack['intents'])} intents)")


def retail(data: Path) -> None:
    rng = random.Random(SEED)
    rows = list(csv.DictReader((data / "bitext-customer-support" / "train.csv").open()))
    intents = []
    for name, (description, queue, priority) in RETAIL.items():
        texts = [r["instruction"] for r in rows if r["intent"] == name]
        intents.append(
            {
                "name": name,
                "description": description,
                "queue": queue,
                "priority": priority,
                "examples": pick(texts, PER_INTENT, rng),
            }
        )
    header = """
# Retail / e-commerce intents: orders, delivery, billing, refunds, accounts, complaints.
# Examples: Bitext customer-support intent dataset (bitext/customer-support-llm-chatbot-
# training-dataset, sample train CSV), 20 rows per intent chosen by data/intents/make_packs.py;
# the rows not chosen are the held-out set `cxstream intents eval` measures on.
# License of the examples: Community Data License Agreement - Sharing 1.0 (CDLA-Sharing-1.0),
# (c) Bitext Innovations; the texts are machine-generated, not real customer messages.
# Out-of-scope examples: CLINC150 oos_train (CC BY 3.0, Larson et al. 2019).
# Queues and priorities are an example routing; edit them for your own queues.
"""
    write(
        HERE / "retail.yaml",
        header,
        {
            "name": "retail",
            "description": "Why people contact an online shop: orders, delivery, payment, "
            "refunds, accounts and complaints.",
            "version": "1",
            "intents": intents,
            "out_of_scope_examples": oos_examples(data, rng),
        },
    )


def describe_banking(name: str) -> str:
    words_ = [BANKING_WORDS.get(w, w) for w in name.split("_")]
    return "About " + " ".join(words_) + "."


def banking(data: Path) -> None:
    rng = random.Random(SEED)
    rows = list(csv.DictReader((data / "banking77" / "train.csv").open()))
    categories = json.loads((data / "banking77" / "categories.json").read_text())
    queue_of = {n: q for q, names in BANKING_QUEUES.items() for n in names.split()}
    intents = []
    for category in categories:
        name = snake(category)
        texts = [r["text"] for r in rows if r["category"] == category]
        intents.append(
            {
                "name": name,
                "description": describe_banking(name),
                "queue": queue_of[name],
                "priority": BANKING_PRIORITY.get(
                    name, "normal" if queue_of[name] != "cards" else "low"
                ),
                "examples": pick(texts, PER_INTENT, rng),
            }
        )
    header = """
# Retail banking / card app intents: the 77 intents of BANKING77.
# Examples: BANKING77 (PolyAI, Casanueva et al. 2020, https://github.com/PolyAI-LDN/
# task-specific-datasets), 20 rows per intent from its train split chosen by
# data/intents/make_packs.py; `cxstream intents eval` measures on its test split.
# License of the examples: Creative Commons Attribution 4.0 International (CC BY 4.0).
# Two source labels are written in snake_case here: Refund_not_showing_up, reverted_card_payment?.
# Out-of-scope examples: CLINC150 oos_train (CC BY 3.0, Larson et al. 2019).
# Queues and priorities are an example routing; edit them for your own queues.
"""
    write(
        HERE / "banking.yaml",
        header,
        {
            "name": "banking",
            "description": "Why people contact a card and current-account bank (BANKING77).",
            "version": "1",
            "intents": intents,
            "out_of_scope_examples": oos_examples(data, rng),
        },
    )


def travel(data: Path) -> None:
    rng = random.Random(SEED)
    clinc = json.loads((data / "clinc150" / "data_full.json").read_text())
    train = clinc["train"]
    intents = []
    for name, (description, queue, priority) in TRAVEL_CLINC.items():
        texts = [t for t, label in train if label == name]
        intents.append(
            {
                "name": name,
                "description": description,
                "queue": queue,
                "priority": priority,
                "examples": pick(texts, PER_INTENT, rng),
            }
        )
    for name, (description, queue, priority, own) in TRAVEL_OWN.items():
        examples = list(own)
        for source, target in CLINC_INTO_OWN.items():
            if target == name:
                texts = [t for t, label in train if label == source]
                examples += pick(texts, OWN_CLINC_SHARE, rng)
        intents.append(
            {
                "name": name,
                "description": description,
                "queue": queue,
                "priority": priority,
                "examples": examples,
            }
        )
    header = """
# Travel intents: trips, flights, hotels, car hire and driving, plus disruption and baggage.
# Examples: CLINC150 (Larson et al. 2019, https://github.com/clinc/oos-eval), its `travel` and
# `auto_and_commute` domains, 20 rows per intent from the train split chosen by
# data/intents/make_packs.py; `cxstream intents eval` measures on its test split.
# License of those examples: Creative Commons Attribution 3.0 (CC BY 3.0).
# flight_delay, flight_cancellation, cancel_booking, lost_or_damaged_baggage, seat_selection
# and refund_request are written by the cxstream authors (Apache-2.0, like the code);
# lost_or_damaged_baggage also takes 10 rows of CLINC150's lost_luggage, which it replaces.
# Their held-out examples are in heldout/travel.yaml, written separately, never fitted on.
# Out-of-scope examples: CLINC150 oos_train (CC BY 3.0).
# Queues and priorities are an example routing; edit them for your own queues.
"""
    write(
        HERE / "travel.yaml",
        header,
        {
            "name": "travel",
            "description": "Why people contact an airline, travel agent or car hire firm.",
            "version": "1",
            "intents": intents,
            "out_of_scope_examples": oos_examples(data, rng),
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=HERE.parents[2] / "shared" / "data")
    args = parser.parse_args()
    retail(args.data_dir)
    banking(args.data_dir)
    travel(args.data_dir)


if __name__ == "__main__":
    main()
