"""Normalisers: each turns one kind of raw value into its standard form or raises InputError."""

from pipeline.standardise.normalise.errors import InputError

__all__ = ["InputError"]
