"""Malformed HTTP on the worker's web port is one WARNING line, not an ERROR with a traceback.

aiohttp logs every request it cannot parse (a bad request line, an invalid header, a line
over its limit) on ``aiohttp.server`` with ``logger.exception``: a 20-line traceback at ERROR
for what is a client's mistake, and a port scanner can fill the log with them (issue 20). The
traceback says nothing about our code; the exception's class and status say what was wrong.
Its message is not logged: it quotes what the client sent, and a request line can hold a
customer key, a header a bearer token (issue 19). Errors that are not HTTP parse errors (a
failing handler) keep their traceback.
"""

from __future__ import annotations

import logging

from aiohttp.http_exceptions import HttpProcessingError

SERVER_LOGGER = "aiohttp.server"


class BadRequestFilter(logging.Filter):
    """Turns aiohttp's record of an unparseable request into one line at WARNING."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite records whose exception is an HTTP parse error; keep every record."""
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError):
            return True
        record.msg = f"{record.getMessage()}: {type(exc).__name__} ({exc.code})"
        record.args = None
        record.exc_info = None
        record.exc_text = None
        record.levelno = logging.WARNING
        record.levelname = logging.getLevelName(logging.WARNING)
        return True


def quiet_bad_requests(logger: logging.Logger | None = None) -> BadRequestFilter:
    """Install the filter on aiohttp's server logger (once; later calls return the same one)."""
    target = logger or logging.getLogger(SERVER_LOGGER)
    for existing in target.filters:
        if isinstance(existing, BadRequestFilter):
            return existing
    installed = BadRequestFilter()
    target.addFilter(installed)
    return installed
