"""Workflow stage: routing, alert rules and lifecycle, live customer profiles."""
