"""The Parquet lake: the pipeline's output topics as partitioned, queryable files.

``tables`` says what is kept and how it is partitioned, ``schema`` derives the Arrow schemas
from the contracts, ``files`` names files by offset range, ``store`` publishes them atomically,
``batches``/``resume``/``compact`` keep every Kafka record in the lake exactly once, and
``sink`` is the consumer behind ``cxstream sink``.
"""
