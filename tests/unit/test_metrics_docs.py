"""The README's metrics table lists exactly the families pipeline/metrics.py defines."""

from __future__ import annotations

import re

from pipeline.metrics import Metrics
from pipeline.settings import PROJECT_ROOT

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def _exported() -> set[str]:
    suffix = {"counter": "_total", "info": "_info"}
    return {f.name + suffix.get(f.type, "") for f in Metrics().registry.collect()}


def test_readme_metrics_table_matches_the_metrics_module() -> None:
    documented = set(re.findall(r"^\| `(cxstream_[a-z0-9_]+)` \|", README, flags=re.M))
    assert documented == _exported()


def test_every_name_follows_the_convention() -> None:
    for name in _exported():
        assert re.fullmatch(r"cxstream_[a-z0-9_]+", name), name
