"""Malformed HTTP on the worker's web port: one WARNING line, no traceback (issue 20)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator

import pytest
from aiohttp.http_exceptions import BadHttpMethod, BadStatusLine, InvalidHeader, LineTooLong

from pipeline.streaming.web_logging import SERVER_LOGGER, BadRequestFilter, quiet_bad_requests


def _record(exc: BaseException) -> logging.LogRecord:
    # What aiohttp's handle_error logs: logger.exception("Error handling request from %s", …).
    try:
        raise exc
    except BaseException:
        exc_info = sys.exc_info()
    return logging.LogRecord(
        SERVER_LOGGER,
        logging.ERROR,
        __file__,
        1,
        "Error handling request from %s",
        ("127.0.0.1",),
        exc_info,
    )


@pytest.mark.parametrize(
    "exc",
    [
        BadStatusLine("GARBAGE\r\n\r\n  ^"),
        BadHttpMethod("\x16\x03\x01"),
        InvalidHeader(b"X-Bad\x00: 1"),
        LineTooLong("a" * 10_000, 8190),
    ],
    ids=lambda e: type(e).__name__,
)
def test_an_unparseable_request_becomes_one_warning_line(exc: BaseException) -> None:
    record = _record(exc)
    assert BadRequestFilter().filter(record) is True
    line = logging.Formatter("%(levelname)s %(name)s: %(message)s").format(record)
    assert record.levelno == logging.WARNING
    assert record.exc_info is None
    assert "\n" not in line
    assert "Traceback" not in line
    assert line.startswith("WARNING aiohttp.server: Error handling request from 127.0.0.1: ")
    assert f"{type(exc).__name__} (400)" in line
    assert len(line) < 200  # nothing of the client's 10,000-character line


def test_what_the_client_sent_is_not_logged() -> None:
    # A request line can hold a customer key, a header a bearer token (issue 19).
    for exc in (
        BadStatusLine("GET /customers/cus_0123456789abcdef0123 HTTP/9.9"),
        InvalidHeader(b"Authorization: Bearer s3cret-token-0123456789"),
    ):
        record = _record(exc)
        BadRequestFilter().filter(record)
        line = record.getMessage()
        assert "cus_0123" not in line
        assert "s3cret" not in line
        assert line.endswith(f"{type(exc).__name__} (400)")


def test_other_errors_keep_their_level_and_traceback() -> None:
    record = _record(RuntimeError("handler bug"))
    assert BadRequestFilter().filter(record) is True
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert "Traceback" in logging.Formatter().format(record)


@pytest.fixture
def server_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger(SERVER_LOGGER)
    before = list(logger.filters)
    yield logger
    logger.filters[:] = before


def test_quiet_bad_requests_installs_one_filter_on_aiohttps_logger(
    server_logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    installed = quiet_bad_requests()
    assert quiet_bad_requests() is installed
    assert sum(isinstance(f, BadRequestFilter) for f in server_logger.filters) == 1
    with caplog.at_level(logging.DEBUG, logger=SERVER_LOGGER):
        server_logger.exception(
            "Error handling request from %s", "127.0.0.1", exc_info=BadStatusLine("x y")
        )
    (record,) = caplog.records
    assert record.levelname == "WARNING"
    assert caplog.text.count("\n") == 1
