"""Churn and escalation risk (pure): features as of a decision time, a transparent model.

Imports only :mod:`pipeline.contracts`; the workflow stage calls it on every customer message,
``cxstream risk fit`` (:mod:`pipeline.tools.risk_fit`) fits its coefficients from history.
"""
