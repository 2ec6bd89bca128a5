"""How much of each kind of record a batch holds: channel mix and duplicate shares."""

from __future__ import annotations

from pipeline.tools.synthetic.weighted import WeightedTable

#: Target share of records per channel (percent).
CHANNEL_MIX: dict[str, int] = {"web": 30, "chat": 30, "email": 15, "voice": 10, "survey": 15}
#: Mean number of records one "group" of each channel produces (a chat conversation has several
#: messages, a call may be split into segments); used to turn the record mix into group odds.
GROUP_SIZE: dict[str, float] = {
    "web": 1.0,
    "chat": 1.9,
    "email": 1.15,
    "voice": 1.5,
    "survey": 1.0,
}
#: The channel of the next group of records, so that records come out in ``CHANNEL_MIX``.
GROUPS = WeightedTable([(c, CHANNEL_MIX[c] / GROUP_SIZE[c]) for c in CHANNEL_MIX])

REDELIVERY_SHARE = 0.05
CROSS_RELAY_SHARE = 0.02
NEAR_DUPLICATE_SHARE = 0.03
