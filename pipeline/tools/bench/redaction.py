"""Redaction cost: ``python -m pipeline.tools.bench.redaction [--texts N] [--json]``.

Prints, for ``N`` customer texts of the synthetic traffic (the same generator as the demo and
the spine tests): microseconds a text to redact them as they are and with a card number, an
IBAN, an email and a phone number added to each; and the standardise stage's events per second
with redaction on (``CXSTREAM_REDACT`` default) and off (``none``), one process, no broker.
CPU time of this thread, so other processes on the host do not inflate it.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from pipeline.privacy.redact import Redactor
from pipeline.settings import Settings
from pipeline.standardise.normalise.errors import InputError
from pipeline.standardise.standardiser import RawMessage, Standardiser
from pipeline.tools.synthetic import generate

PII = (
    " Card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00, ana@example.com, (415) 555-0132."
)


def _cpu_us_each(items: list[Any], work: Callable[[Any], object]) -> float:
    started = time.thread_time()
    for item in items:
        work(item)
    return (time.thread_time() - started) / max(len(items), 1) * 1e6


def run_redaction_bench(texts: int = 10_000, seed: int = 7) -> dict[str, Any]:
    """The numbers the module docstring describes."""
    settings = Settings()
    raws = [
        RawMessage(settings.topics.raw(r.channel), 0, i, r.key, r.value, None)
        for i, r in enumerate(generate(texts * 3, seed))
    ]
    plain = Standardiser(settings.model_copy(update={"redact": "none"}))
    found = []
    for raw in raws:
        try:
            ix = plain.standardise(raw)
        except InputError:
            continue
        if ix.text:
            found.append(ix.text)
    sample = found[:texts]
    redactor = Redactor.from_settings(settings)
    with_pii = [t + PII for t in sample]
    events = raws[: len(sample)]
    redacting = Standardiser(settings)

    def standardise(std: Standardiser) -> Callable[[RawMessage], object]:
        def one(raw: RawMessage) -> object:
            try:
                return std.standardise(raw)
            except InputError:
                return None

        return one

    off_us = _cpu_us_each(events, standardise(plain))
    on_us = _cpu_us_each(events, standardise(redacting))
    return {
        "texts": len(sample),
        "mean_chars": round(sum(map(len, sample)) / max(len(sample), 1), 1),
        "redact_us_per_text": round(_cpu_us_each(sample, redactor.redact), 1),
        "redact_us_per_text_with_4_values": round(_cpu_us_each(with_pii, redactor.redact), 1),
        "standardise_eps_redaction_off": round(1e6 / off_us, 1),
        "standardise_eps_redaction_on": round(1e6 / on_us, 1),
        "types": [t.value for t in redactor.types],
    }


def main() -> None:
    """Command line: print the numbers (a table, or one JSON object with ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=10_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run_redaction_bench(args.texts)
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key:<36} {value}")


if __name__ == "__main__":
    main()
