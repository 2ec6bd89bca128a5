"""The project's labelled customer messages (``data/labelled/*.jsonl``, docs/labelling.md).

Every message carries sentiment, urgency level and intent. A fixed, documented rule splits the set:
a message is **held out** when the first 8 hex digits of sha256(its id) modulo 10 are below 3
(about 30 %). Held-out messages are only ever used to report quality; the rest ("fit") may train
the urgency layer and choose thresholds. The rule depends on the id alone, so adding messages
never moves an old one between the splits.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pipeline.resources import bundled

Split = Literal["fit", "heldout", "all"]
HELDOUT_SHARE_TENTHS = 3


@dataclass(frozen=True, slots=True)
class LabelledMessage:
    """One hand-labelled customer message."""

    id: str
    channel: str
    text: str
    sentiment: str
    urgency: str
    intent: str
    clear_cut: bool
    industry: str = "mixed"


def is_heldout(message_id: str) -> bool:
    """Whether ``message_id`` belongs to the held-out split (see the module docstring)."""
    digest = hashlib.sha256(message_id.encode("utf-8")).hexdigest()
    return int(digest[:8], 16) % 10 < HELDOUT_SHARE_TENTHS


def labelled_dir() -> Path:
    """The folder of labelled ``*.jsonl`` files bundled with cxstream."""
    return bundled("labelled")


def load(split: Split = "all", directory: Path | None = None) -> list[LabelledMessage]:
    """Messages of every ``*.jsonl`` file in ``directory`` (default: the bundled set), by id."""
    folder = directory if directory is not None else labelled_dir()
    messages: list[LabelledMessage] = []
    for path in sorted(folder.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                messages.append(LabelledMessage(**json.loads(line)))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{path}:{number}: not a labelled message: {exc}") from None
    messages.sort(key=lambda m: m.id)
    if split == "all":
        return messages
    return [m for m in messages if is_heldout(m.id) == (split == "heldout")]
