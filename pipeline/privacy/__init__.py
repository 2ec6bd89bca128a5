"""Privacy: personal data out of message text (redaction) and out of identifiers (pseudonyms).

Pure functions over strings and contracts, shared by the standardise stage (which applies them
to every interaction) and the model evaluator (which measures their effect on the scores). It
imports only ``pipeline.contracts`` and ``pipeline.settings`` (import-linter enforces it).
"""
