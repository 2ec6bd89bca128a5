"""The one way tests wait: poll a condition until it holds, with a deadline.

A fixed sleep either wastes time or, on a slow machine, passes before the thing it waits for
has happened (and then the test asserts on nothing). Tests wait here on something they can
observe instead, and the deadline turns "never happened" into a failure that says what.
"""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(
    what: str,
    condition: Callable[[], object],
    timeout_s: float,
    every_s: float = 0.5,
    *,
    detail: Callable[[], object] | None = None,
) -> float:
    """Poll ``condition`` until it returns something true; return the seconds it took.

    Raises ``TimeoutError`` naming ``what`` (and, with ``detail``, the state it last saw) when
    ``timeout_s`` passes first. The condition is checked once more at the deadline, so a slow
    last poll cannot turn a success into a failure.
    """
    started = time.monotonic()
    deadline = started + timeout_s
    while True:
        if condition():
            return time.monotonic() - started
        left = deadline - time.monotonic()
        if left <= 0:
            break
        time.sleep(min(every_s, left))
    message = f"{what}: not within {timeout_s:.0f}s"
    if detail is not None:
        message += f"; last seen: {detail()}"
    raise TimeoutError(message)
