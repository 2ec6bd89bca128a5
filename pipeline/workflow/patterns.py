"""The rules file's regular expressions, run by RE2: time linear in the text, whatever the pattern.

A rules file is configuration, not code review: a pattern such as ``(a+)+$`` made Python's
backtracking ``re`` take exponential time on ``"a" * 36 + "!"``, and because matching holds the
interpreter lock it froze the whole worker (issue 20). RE2 (``google-re2``) guarantees time
linear in the text for every pattern it accepts, and what it cannot promise that for,
backreferences (``\\1``) and lookaround (``(?=``, ``(?!``, ``(?<=``, ``(?<!``), it refuses to
compile: such a file is rejected when it loads. Other differences from ``re``: ``\\b`` and ``\\w``
are ASCII-only, and ``\\Z`` is spelled ``\\z``.
"""

from __future__ import annotations

from typing import Protocol

# google-re2 ships no type information; this module is the only place that touches it.
import re2  # type: ignore[import-untyped]


class TextPattern(Protocol):
    """What the pipeline needs of a compiled rules pattern."""

    def search(self, text: str) -> object | None:
        """The first match anywhere in ``text``, or None."""


class UnsupportedPattern(ValueError):
    """A pattern RE2 cannot run in linear time (or cannot parse at all)."""


def compile_rule_pattern(pattern: str) -> TextPattern:
    """``pattern`` compiled case-insensitively by RE2; ``UnsupportedPattern`` says why not."""
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # RE2 would also print the error on stderr, unasked.
    try:
        compiled: TextPattern = re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", errors="replace")
        raise UnsupportedPattern(
            f"bad or unsupported regular expression {pattern!r} ({reason}): rules patterns run "
            "on RE2, which has no backreferences or lookaround"
        ) from exc
    return compiled
