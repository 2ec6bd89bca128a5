"""Deterministic, realistic synthetic raw events for the five input channels.

``generate(n, seed)`` returns exactly ``n`` raw Kafka messages (web, chat, email, voice, survey)
as described in ``docs/contract.md``, each with its ground truth: whether the
pipeline should accept it as an interaction, drop it as a duplicate (``redelivery``,
``cross_relay``, ``near_duplicate``) or dead-letter it (``deadletter:<reason_code>``), and the
person it belongs to. Only ``random.Random(seed)`` is used, so equal arguments give equal bytes.

All identifiers are fictional: ``example.*`` / ``*.example`` domains, US 555-01xx numbers,
Ofcom drama-range UK numbers and sample German mobile numbers.

Where things are: ``traffic`` (the public functions: how many records of each kind, in arrival
order), ``generator`` (the population and one group of records per draw), one module per
channel (``web``, ``chat``, ``mail``, ``voice``, ``survey``), ``population`` (people and their
identifiers), ``phrases`` (what customers and agents write), ``duplicates`` and ``malformed``
(the records the pipeline must drop or dead-letter), ``records`` (records under construction and
their timestamps), ``mix`` (the shares of each kind), ``source`` (the random source and the ids
handed out).

The order of every random draw is part of the output: changing it changes the bytes for a seed.
"""

from pipeline.tools.synthetic.malformed import MALFORMED_REASONS
from pipeline.tools.synthetic.records import RawRecord
from pipeline.tools.synthetic.traffic import generate, generate_from_population, summarise

__all__ = ["MALFORMED_REASONS", "RawRecord", "generate", "generate_from_population", "summarise"]
