"""Approved reply templates (pure): the library file, its loader and its lookups.

Shared by the score stage, which embeds each template's example messages once at start and
suggests the closest template of the message's intent (``scores.reply_template``), and the
workflow stage, which turns that suggestion into a next-best-action (docs/risk.md).
"""
