"""What customers and agents write: intents, message templates, replies and their slot values."""

from __future__ import annotations

import random
import re

from pipeline.tools.synthetic.population import Person
from pipeline.tools.synthetic.weighted import WeightedTable

INTENTS = (("billing", 12.0), ("refund", 11.0), ("delivery", 15.0), ("login", 10.0),
           ("fraud", 6.0), ("cancel", 8.0), ("bug", 9.0), ("complaint", 9.0), ("praise", 9.0),
           ("question", 11.0))  # fmt: skip
NEGATIVE_INTENTS = ("billing", "refund", "delivery", "login", "fraud", "cancel", "bug")

TEMPLATES: dict[str, tuple[str, ...]] = {
    "billing": (
        "I was charged twice for order {order}. I can see two payments of {amount} on my "
        "statement.",
        "Why did you charge me {amount} twice this month? I only have one subscription.",
        "There's a double charge on my card ending {last4} from {date}. Please fix this.",
        "My invoice for {month} shows {amount} but my {plan} plan is only {amount2}.",
        "I've been billed for the {plan} plan but I downgraded {date}.",
    ),
    "refund": (
        "I'd like a refund for order {order}, the {product} arrived damaged.",
        "I returned the {product} {days} days ago and still haven't received my refund of "
        "{amount}.",
        "Can you please refund {amount}? I cancelled before the renewal date.",
        "When will my refund be processed? Order {order}.",
    ),
    "delivery": (
        "My order {order} was supposed to arrive {date} and it's still not here.",
        "Tracking says delivered but I never received the package. Order {order}.",
        "Where is my order? It has been {days} days.",
        "The courier left my parcel at the wrong address in {city}.",
        "Order {order} is late again. I needed the {product} by {date}.",
    ),
    "login": (
        "I can't log in to my account, it says my password is incorrect.",
        "The password reset email never arrives. I tried {n} times.",
        "I'm locked out of my account after the last app update ({app_version}).",
        "The two-factor code is not arriving on my phone, I can't sign in.",
    ),
    "fraud": (
        "There is a transaction of {amount} on my card ending {last4} that I don't recognise.",
        "My card was stolen {date}, please block it immediately.",
        "Someone changed the email on my account and placed an order I didn't make ({order}).",
        "I got a suspicious text asking for my password, is this really from you?",
    ),
    "cancel": (
        "I want to close my account.",
        "Please cancel my {plan} subscription effective immediately.",
        "How do I cancel? I don't want to be charged again {date}.",
        "I'd like to cancel order {order} before it ships.",
    ),
    "bug": (
        "The app crashes every time I open the order history on my {device}.",
        "Checkout fails with error {error} when I try to pay.",
        "The search page is blank since version {app_version}.",
        "I can't upload my documents, the button does nothing in {browser}.",
        "The Help & Support page shows an error when I open it.",
    ),
    "complaint": (
        "This is the third time I'm writing!!! Nobody has answered about order {order}.",
        "Your customer service is a joke. I've been waiting {days} days for a reply.",
        "Absolutely unacceptable. The {product} broke after two days and nobody helps me.",
        "I am extremely disappointed. I was promised a call back {date} and nothing happened.",
    ),
    "praise": (
        "Thanks, you were super helpful!",
        "Great service, my issue with order {order} was solved in minutes.",
        "Just wanted to say {agent} was fantastic on the phone today.",
        "Love the new app update, checkout is much faster now.",
        "Delivery was quick and the {product} is perfect. Thank you!",
    ),
    "question": (
        "Do you ship to {city}?",
        "What are your opening hours on weekends?",
        "Can I change the delivery address for order {order}?",
        "Is the {product} available in another colour?",
        "How do I update my payment method?",
        "Where can I find your Terms & Conditions?",
    ),
}
FOREIGN_TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "es": {
        "billing": (
            "Me han cobrado dos veces el pedido {order}. Por favor, devuélvanme {amount}.",
        ),
        "delivery": ("Mi pedido {order} todavía no ha llegado y ya pasaron {days} días.",),
        "login": ("No puedo iniciar sesión, el correo para restablecer la contraseña no llega.",),
        "cancel": ("Quiero cerrar mi cuenta, por favor.",),
        "praise": ("¡Muchas gracias, me ayudaron muchísimo!",),
    },
    "fr": {
        "billing": ("On m'a débité deux fois pour la commande {order}, merci de me rembourser.",),
        "delivery": ("Ma commande {order} n'est toujours pas arrivée après {days} jours.",),
        "login": ("Je n'arrive pas à me connecter à mon compte depuis hier.",),
        "cancel": ("Je souhaite résilier mon abonnement {plan}.",),
        "praise": ("Merci beaucoup, vous avez été très efficaces !",),
    },
    "de": {
        "billing": ("Mir wurde die Bestellung {order} zweimal berechnet, bitte erstatten.",),
        "delivery": ("Meine Bestellung {order} ist nach {days} Tagen immer noch nicht da.",),
        "login": ("Ich kann mich nicht mehr in mein Konto einloggen.",),
        "cancel": ("Ich möchte mein Konto kündigen.",),
        "praise": ("Vielen Dank, Sie waren sehr hilfsbereit!",),
    },
}
GREETINGS = ("", "", "Hi, ", "Hello, ", "Hey, ", "Good morning, ")
CLOSINGS = ("", "", " Thanks.", " Thank you!", " Please help.", " Regards.")
ANGER_PREFIXES = ("This is the third time I'm writing!!! ", "I am FURIOUS. ", "Seriously?! ",
                  "Unbelievable. ")  # fmt: skip
ANGER_SUFFIXES = (" Unacceptable!!", " I want to speak to a manager.", " Fix this NOW.",
                  " Worst service ever.")  # fmt: skip
DETAILS = ("My order number is {order}.", "I'm using the app on my {device}.",
           "I already tried restarting the app.",
           "I've been a customer for {years} years.")  # fmt: skip

AGENT_REPLIES: dict[str, tuple[str, ...]] = {
    "billing": ("Hi {first}, I'm sorry about the double charge. I've raised a refund of {amount}; "
                "it can take 3-5 business days.",
                "Thanks {first}, I can see the duplicate payment and I've reversed it."),
    "refund": ("Hi {first}, your refund for order {order} has been approved.",
               "I've escalated your refund to our payments team, {first}."),
    "delivery": ("Sorry for the delay, {first}. Order {order} is with the courier and should "
                 "arrive within 2 days.",
                 "I've opened an investigation with the carrier for order {order}."),
    "login": ("I've sent a new password reset link to your email, {first}.",
              "Your account is unlocked now, please try signing in again."),
    "fraud": ("I've blocked the card and flagged the transaction, {first}. Our fraud team will "
              "contact you.",
              "For your security I've frozen the account while we investigate."),
    "cancel": ("I'm sorry to see you go, {first}. Your subscription has been cancelled.",
               "I can help with that. Can you confirm the email on the account?"),
    "bug": ("Thanks for reporting this, {first}. Our engineers are looking into it.",
            "Could you update to the latest version and tell me if it still happens?"),
    "complaint": ("I'm really sorry, {first}. I've escalated this to a supervisor.",
                  "I understand your frustration and I apologise for the wait."),
    "praise": ("Thank you so much, {first}! I'll pass that on to the team.",
               "Glad I could help! Have a great day."),
    "question": ("Good question, {first}! Yes, we do.",
                 "You can change that under Account > Settings."),
}  # fmt: skip

_SLOT_VALUES: dict[str, tuple[str, ...]] = {
    "date": ("yesterday", "last Tuesday", "on Monday", "3 days ago", "last week",
             "this morning", "on the 3rd"),
    "product": ("wireless headphones", "running shoes", "coffee machine", "phone case",
                "winter jacket", "smart watch", "desk lamp", "yoga mat", "backpack", "blender"),
    "device": ("iPhone 13", "Pixel 7", "Samsung Galaxy S22", "iPad", "MacBook",
               "Windows laptop"),
    "browser": ("Chrome", "Firefox", "Safari", "Edge"),
    "error": ("PAY-402", "ERR_3DS_TIMEOUT", "500 Internal Server Error", "card_declined"),
    "plan": ("Premium", "Family", "Basic", "Pro"),
    "city": ("Manchester", "Austin", "Berlin", "Leeds", "Boston", "Munich", "Cardiff",
             "Seattle"),
    "agent": ("Maria", "Tom", "Priya", "Jonas", "Sam"),
    "month": ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December"),
}  # fmt: skip
#: Currency code and amount format per country.
CURRENCY = {"US": ("USD", "${v}"), "GB": ("GBP", "£{v}"), "DE": ("EUR", "{v} €")}

_INTENTS = WeightedTable(INTENTS)


class Slots(dict[str, str]):
    """Template slot values, drawn on first use and then kept (one order number per thread)."""

    def __init__(self, rng: random.Random, person: Person) -> None:
        super().__init__(first=person.first, last=person.last)
        self._rng = rng
        self._country = person.country

    def __missing__(self, key: str) -> str:
        rng = self._rng
        if key == "order":
            value = (
                f"#A{rng.randint(10000, 99999)}"
                if rng.random() < 0.8
                else (f"ORD-{rng.randint(100000, 999999)}")
            )
        elif key in ("amount", "amount2"):
            value = CURRENCY[self._country][1].format(v=money(rng, self._country))
        elif key == "last4":
            value = f"{rng.randint(0, 9999):04d}"
        elif key == "days":
            value = str(rng.randint(3, 21))
        elif key == "n":
            value = str(rng.randint(2, 5))
        elif key == "years":
            value = str(rng.randint(2, 12))
        elif key == "ticket":
            value = f"#{rng.randint(100000, 999999)}"
        elif key == "app_version":
            value = f"{rng.randint(3, 5)}.{rng.randint(0, 14)}.{rng.randint(0, 3)}"
        else:
            value = rng.choice(_SLOT_VALUES[key])
        self[key] = value
        return value


def money(rng: random.Random, country: str) -> str:
    """An amount as that country writes it (``12.99``, ``12,99``)."""
    value = f"{rng.randint(5, 300)}.{rng.choice(('99', '00', '49', '95'))}"
    return value.replace(".", ",") if country == "DE" else value


def fill(template: str, slots: Slots) -> str:
    """The template with its slots filled."""
    return template.format_map(slots)


def customer_text(
    rng: random.Random, p: Person, slots: Slots, intent: str | None = None, *, chatty: bool = True
) -> tuple[str, str]:
    """A customer message and its intent (``chatty``: may open with "Hi, " and so on)."""
    if p.lang != "en":
        table = FOREIGN_TEMPLATES[p.lang]
        intent = intent if intent in table else rng.choice(list(table))
        return fill(rng.choice(table[intent]), slots), intent
    intent = intent or _INTENTS.draw(rng)
    text = fill(rng.choice(TEMPLATES[intent]), slots)
    if rng.random() < 0.3:
        details = [d for d in DETAILS if "{order}" not in d or "order" not in slots]
        text += " " + fill(rng.choice(details), slots)
    if intent in NEGATIVE_INTENTS and rng.random() < 0.18:
        text = rng.choice(ANGER_PREFIXES) + text + rng.choice(ANGER_SUFFIXES)
        if rng.random() < 0.2:
            text = text.upper()
    elif chatty and intent not in ("complaint", "praise"):
        greeting = rng.choice(GREETINGS)
        if greeting and not re.match(r"I\b", text):
            text = text[0].lower() + text[1:]
        text = greeting + text + rng.choice(CLOSINGS)
    return text, intent
