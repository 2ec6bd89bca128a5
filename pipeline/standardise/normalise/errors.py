"""The one exception normalisers raise for bad input, carrying a dead-letter reason code."""

from __future__ import annotations

from pipeline.contracts.records import ReasonCode


class InputError(ValueError):
    """Input the pipeline rejects: ``code`` is the dead-letter reason, ``str(e)`` the detail."""

    def __init__(self, code: ReasonCode, message: str) -> None:
        super().__init__(message)
        self.code = code
