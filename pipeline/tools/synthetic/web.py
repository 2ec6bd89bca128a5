"""Web and app behaviour events (Segment spec: page, track, screen, identify)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from pipeline.tools.synthetic.phrases import CURRENCY, Slots, customer_text, fill, money
from pipeline.tools.synthetic.population import Person, email_display
from pipeline.tools.synthetic.records import Draft, TimestampStyle, new_draft
from pipeline.tools.synthetic.source import Source
from pipeline.tools.synthetic.weighted import WeightedTable

WEB_KINDS = (("page", 45.0), ("track", 35.0), ("screen", 12.0), ("identify", 8.0))
WEB_PAGES = (("Home", "/"), ("Order Status", "/orders/{oid}"), ("Help Center", "/help"),
             ("Billing", "/account/billing"), ("Cancel Subscription", "/account/cancel"),
             ("Login", "/login"), ("Reset Password", "/login/reset"), ("Checkout", "/checkout"),
             ("Contact", "/contact"))  # fmt: skip
WEB_TRACKS = (("Search", 30.0), ("Checkout Failed", 20.0), ("Feedback Submitted", 25.0),
              ("Product Viewed", 15.0), ("Order Completed", 10.0))  # fmt: skip
WEB_SCREENS = ("Order Details", "Home", "Settings", "Help", "Payment Methods", "Chat Support")
SEARCH_QUERIES = ("refund status", "cancel subscription", "where is my order {order}",
                  "reset password", "charged twice", "contact support phone number",
                  "change delivery address", "{product}", "{product} size guide",
                  "delete account", "promo code not working")  # fmt: skip
CHECKOUT_ERRORS = ("card_declined", "3ds_timeout", "address_invalid", "payment_gateway_error")
REFERRERS = ("", "https://www.example.org/", "https://search.example.net/?q=acme",
             "https://shop.example.com/")  # fmt: skip
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/121.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7; rv:122.0) Gecko/20100101 Firefox/122.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/121.0.0.0 Mobile Safari/537.36",
)

_WEB_KINDS = WeightedTable(WEB_KINDS)
_WEB_TRACKS = WeightedTable(WEB_TRACKS)


def web_event(source: Source, p: Person, start: datetime, kind: str | None = None) -> list[Draft]:
    """One web event of ``p`` at ``start`` (``kind``: page, track, screen, identify; None: any)."""
    rng = source.rng
    if kind is None:
        fresh = not p.identified and (p.email or p.phone) and rng.random() < 0.5
        kind = "identify" if fresh else _WEB_KINDS.draw(rng)
    slots = Slots(rng, p)
    anon = rng.choice(p.anonymous_ids) if p.anonymous_ids else None
    user = p.user_id if p.user_id and (anon is None or rng.random() < 0.45) else None
    payload: dict[str, Any] = {"type": kind}
    if kind == "identify":
        p.identified = True
        user = p.user_id
        body_key, body = "traits", _traits(rng, p)
        payload["messageId"] = source.uuid()
    elif kind == "track":
        event = _WEB_TRACKS.draw(rng)
        payload["event"] = event
        payload["messageId"] = f"ajs-next-{source.uid('', 32)}"
        body_key, body = "properties", _track_properties(rng, p, event, slots)
    elif kind == "screen":
        payload["name"] = rng.choice(WEB_SCREENS)
        payload["messageId"] = source.uuid()
        body_key, body = "properties", {"from_push": rng.random() < 0.2}
    else:
        title, path = rng.choice(WEB_PAGES)
        path = path.format(oid=slots["order"].lstrip("#"))
        payload["name"] = title
        payload["messageId"] = f"ajs-next-{source.uid('', 32)}"
        url = f"https://shop.example.com{path}"
        body_key, body = (
            "properties",
            {
                "path": path,
                "url": url,
                "title": f"{title} | Acme",
                "referrer": rng.choice(REFERRERS),
            },
        )
    if anon:
        payload["anonymousId"] = anon
    if user:
        payload["userId"] = user
    payload[body_key] = body
    payload["context"] = _web_context(rng, p, kind, body)
    style = TimestampStyle.draw(rng)
    _stamp(rng, payload, style, start)
    if rng.random() < 0.2:
        payload["integrations"] = {"All": True, "Mixpanel": False}
    if rng.random() < 0.1:
        payload["x_tenant"] = "acme"
    return [new_draft(rng, "web", user or anon, payload, p.pid, start, style)]


def _traits(rng: random.Random, p: Person) -> dict[str, Any]:
    """The traits of an ``identify`` call: email and/or phone, maybe the name."""
    traits: dict[str, Any] = {}
    if p.email and rng.random() < 0.9:
        traits["email"] = email_display(rng, p.email)
    if p.phone and (not traits or rng.random() < 0.5):
        traits["phone"] = p.phone.display(rng)
    if rng.random() < 0.7 or not traits:
        traits["name"] = p.name
    return traits


def _stamp(
    rng: random.Random, payload: dict[str, Any], style: TimestampStyle, when: datetime
) -> None:
    """Set the event's time: ``timestamp`` (maybe with ``sentAt``), or only one of the others."""
    r = rng.random()
    if r < 0.8:
        payload["timestamp"] = style.render(when)
        if rng.random() < 0.3:
            payload["sentAt"] = style.render(when + timedelta(milliseconds=rng.randint(5, 1500)))
    else:
        payload["sentAt" if r < 0.9 else "receivedAt"] = style.render(when)


def _track_properties(rng: random.Random, p: Person, event: str, slots: Slots) -> dict[str, Any]:
    currency = CURRENCY[p.country][0]
    if event == "Search":
        return {"query": fill(rng.choice(SEARCH_QUERIES), slots)}
    if event == "Feedback Submitted":
        text, _ = customer_text(rng, p, slots)
        return {rng.choice(("comment", "text")): text, "rating": rng.randint(1, 5)}
    if event == "Checkout Failed":
        return {
            "error_code": rng.choice(CHECKOUT_ERRORS),
            "order_id": slots["order"].lstrip("#"),
            "total": float(money(rng, "US")),
            "currency": currency,
        }
    if event == "Product Viewed":
        return {
            "product": slots["product"],
            "price": float(money(rng, "US")),
            "currency": currency,
        }
    return {
        "order_id": slots["order"].lstrip("#"),
        "total": float(money(rng, "US")),
        "currency": currency,
    }


def _web_context(rng: random.Random, p: Person, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    ip = f"{rng.choice(('203.0.113', '198.51.100', '192.0.2'))}.{rng.randint(1, 254)}"
    if kind == "screen":
        os_name = rng.choice(("ios", "android"))
        return {
            "app": {"name": "Acme", "version": f"4.{rng.randint(0, 14)}.0"},
            "device": {"type": os_name.lower()},
            "os": {"name": "iOS" if os_name == "ios" else "Android"},
            "locale": p.locale,
            "ip": ip,
            "library": {"name": f"analytics-{os_name}", "version": "4.1.8"},
        }
    url = body.get("url", "https://shop.example.com/")
    page = {
        "url": url,
        "path": url.removeprefix("https://shop.example.com"),
        "referrer": rng.choice(REFERRERS),
    }
    return {
        "page": page,
        "userAgent": rng.choice(USER_AGENTS),
        "locale": p.locale,
        "ip": ip,
        "library": {"name": "analytics.js", "version": "next-1.53.0"},
    }
