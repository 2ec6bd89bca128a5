"""Email threads: a customer's mail, maybe a reply to support quoting it, maybe a follow-up."""

from __future__ import annotations

import html
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pipeline.tools.synthetic.phrases import Slots, customer_text, fill
from pipeline.tools.synthetic.population import Person, email_display
from pipeline.tools.synthetic.records import Draft, TimestampStyle, new_draft
from pipeline.tools.synthetic.source import Source

MAIL_HOSTS = ("mail.example.com", "mx.example.org", "outlook.example.net", "smtp.example.com")
SUPPORT_ADDRESSES = ("support@acme.example", "Acme Support <support@acme.example>",
                     "help@shop.example.com")  # fmt: skip

EMAIL_SUBJECTS: dict[str, tuple[str, ...]] = {
    "billing": ("Double charge on my card", "Charged twice for order {order}",
                "Wrong amount on my invoice"),
    "refund": ("Refund request - order {order}", "Where is my refund?", "Refund"),
    "delivery": ("Order {order} not delivered", "Late delivery", "Where is my parcel?"),
    "login": ("Can't log in", "Password reset not working", "Account locked"),
    "fraud": ("URGENT: transaction I don't recognise", "Card stolen - please block",
              "Suspicious activity on my account"),
    "cancel": ("Cancel my subscription", "Close my account", "Cancellation request"),
    "bug": ("App keeps crashing", "Checkout error {error}", "Bug report"),
    "complaint": ("Complaint", "Still no answer!!!", "Formal complaint about your service"),
    "praise": ("Thank you!", "Great service", "Compliments to your team"),
    "question": ("Quick question", "Question about my order", "Shipping question"),
}  # fmt: skip
FOREIGN_SUBJECTS = {"es": ("Problema con mi pedido", "Consulta"),
                    "fr": ("Problème avec ma commande", "Question"),
                    "de": ("Problem mit meiner Bestellung", "Frage")}  # fmt: skip
EMAIL_GREETINGS = ("Hi,", "Hello,", "Hello support team,", "Dear Sir or Madam,", "Hi there,", "")
FOREIGN_GREETINGS = {"es": "Hola,", "fr": "Bonjour,", "de": "Hallo,"}
EMAIL_SIGNOFFS = ("Best regards,\n{first}", "Thanks,\n{first}",
                  "-- \n{first} {last}\nSent from my iPhone", "Kind regards,\n{first} {last}",
                  "Cheers,\n{first}\n\nSent from Mail for Windows", "{first}")  # fmt: skip
FOREIGN_SIGNOFFS = {"es": "Saludos,\n{first}", "fr": "Cordialement,\n{first}",
                    "de": "Viele Grüße\n{first}"}  # fmt: skip
SUPPORT_NOTES = (
    "Hi {first},\nthanks for contacting Acme Support. Your ticket number is {ticket}.\n"
    "We will get back to you within 24 hours.\nAcme Support",
    "Hello {first},\nyour order {order} has been dispatched and will arrive in 2-3 business "
    "days.\nThe Acme Team",
    "Hi {first},\ncould you please send us a photo of the damaged item?\nKind regards,\n"
    "Acme Support",
)
EMAIL_FOLLOWUPS = ("Any update on this? I still haven't heard back.",
                   "I'm writing again because nobody has replied.",
                   "Sorry, I forgot to mention my order number is {order}.")  # fmt: skip

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def email_thread(source: Source, p: Person, start: datetime, single: bool = False) -> list[Draft]:
    """A mail of ``p`` at ``start`` and maybe a follow-up (``single``: the first mail only)."""
    rng = source.rng
    assert p.email is not None
    slots = Slots(rng, p)
    text, intent = customer_text(rng, p, slots, chatty=False)
    if p.lang != "en":
        subject = rng.choice(FOREIGN_SUBJECTS[p.lang])
    else:
        subject = fill(rng.choice(EMAIL_SUBJECTS[intent]), slots)
    thread: list[str] = []
    quoted = ""
    if rng.random() < 0.35:
        support_id = f"<{source.uid('reply-', 12)}@acme.example>"
        thread.append(support_id)
        subject = "Re: " + subject
        quoted = _quote(
            rng,
            p,
            start - timedelta(hours=rng.randint(2, 72)),
            fill(rng.choice(SUPPORT_NOTES), slots),
            subject,
        )
    style = TimestampStyle.draw(rng)
    sender = _sender(rng, p)
    mail = _Mail(sender, subject, text, quoted, thread)
    drafts = [_mail_draft(source, p, start, style, mail)]
    if not single and rng.random() < 0.15:
        first = drafts[0].payload
        when = start + timedelta(milliseconds=rng.randint(300_000, 720_000))
        quoted = _quote(rng, p, start, text, subject, sender=first["from"])
        body = fill(rng.choice(EMAIL_FOLLOWUPS), slots)
        reply = "AW: " if p.lang == "de" else rng.choice(("Re: ", "RE: "))
        subject = subject if subject.lower().startswith("re:") else reply + subject
        follow_up = _Mail(sender, subject, body, quoted, [*thread, first["message_id"]])
        drafts.append(_mail_draft(source, p, when, style, follow_up))
    return drafts


@dataclass(frozen=True)
class _Mail:
    """What one mail says, before its envelope and encoding are drawn."""

    sender: str
    subject: str
    message: str
    quoted: str
    thread: list[str]


def _sender(rng: random.Random, p: Person) -> str:
    assert p.email is not None
    address, r = email_display(rng, p.email), rng.random()
    if r < 0.5:
        return f"{p.name} <{address}>"
    if r < 0.85:
        return address
    return f'"{p.last}, {p.first}" <{address}>'


def _quote(
    rng: random.Random,
    p: Person,
    when: datetime,
    note: str,
    subject: str,
    sender: str = "Acme Support <support@acme.example>",
) -> str:
    """A quoted earlier mail, Gmail style (``> `` lines) or Outlook style."""
    if rng.random() < 0.75:
        head = f"On {_mail_date(when)} at {when:%H:%M}, {sender} wrote:"
        return head + "\n" + "\n".join(f"> {line}" for line in note.splitlines())
    to = p.name if sender.startswith("Acme") else "Acme Support"
    return (
        f"-----Original Message-----\nFrom: {sender}\nSent: {_mail_date(when)} "
        f"{when:%H:%M}\nTo: {to}\nSubject: {subject}\n\n{note}"
    )


def _mail_draft(
    source: Source, p: Person, when: datetime, style: TimestampStyle, mail: _Mail
) -> Draft:
    rng = source.rng
    slots = Slots(rng, p)
    if p.lang != "en":
        greeting, signoff = FOREIGN_GREETINGS[p.lang], FOREIGN_SIGNOFFS[p.lang]
    else:
        greeting, signoff = rng.choice(EMAIL_GREETINGS), rng.choice(EMAIL_SIGNOFFS)
    quoted = mail.quoted
    parts = [x for x in (greeting, mail.message, fill(signoff, slots), quoted) if x]
    message_id = f"<{source.uuid()}@{rng.choice(MAIL_HOSTS)}>"
    payload: dict[str, Any] = {
        "message_id": message_id,
        "received_at": style.render(when),
        "from": mail.sender,
        "to": rng.choice(SUPPORT_ADDRESSES),
        "subject": mail.subject,
    }
    mode = rng.random()
    if mode < 0.85:
        payload["text"] = "\n\n".join(parts)
    if mode >= 0.5:
        own = "".join(f"<div>{_html_lines(x)}</div>" for x in parts if x != quoted)
        tail = f'<blockquote class="gmail_quote">{_html_lines(quoted)}</blockquote>'
        payload["html"] = f"<html><body>{own}<br>{tail if quoted else ''}</body></html>"
    if mail.thread:
        payload["in_reply_to"] = mail.thread[-1]
        payload["references"] = " ".join(mail.thread)
    if rng.random() < 0.3:
        payload["gateway"] = rng.choice(("mx-a", "relay-a"))
    if rng.random() < 0.15:
        payload["attachments"] = [{"filename": "receipt.pdf", "size": rng.randint(9000, 90000)}]
    return new_draft(rng, "email", message_id, payload, p.pid, when, style)


def _html_lines(text: str) -> str:
    return "<br>".join(html.escape(line, quote=False) for line in text.splitlines())


def _mail_date(when: datetime) -> str:
    return f"{_DAYS[when.weekday()]}, {when.day} {_MONTHS[when.month - 1]} {when.year}"
