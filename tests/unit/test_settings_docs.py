"""The README's settings table is the one place settings are documented: keep it complete."""

from __future__ import annotations

import re

import pytest

from pipeline.settings import PROJECT_ROOT, Settings

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
ROWS = dict(re.findall(r"^\| `(CXSTREAM_[A-Z0-9_]+)` \| ([^|]*) \|", README, flags=re.M))


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_has_a_readme_row(name: str) -> None:
    assert f"CXSTREAM_{name.upper()}" in ROWS, (
        f"README settings table lacks CXSTREAM_{name.upper()}"
    )


@pytest.mark.parametrize(
    "name",
    [n for n, f in Settings.model_fields.items() if isinstance(f.default, (int, float, bool))],
)
def test_numeric_and_flag_defaults_match_the_readme(name: str) -> None:
    default = Settings.model_fields[name].default
    shown = ROWS[f"CXSTREAM_{name.upper()}"].strip().strip("`")
    if isinstance(default, bool):
        assert shown == str(default).lower(), f"README: {shown}, code: {default} ({name})"
    else:
        assert float(shown) == default, f"README: {shown}, code: {default} ({name})"


def test_readme_lists_no_unknown_setting() -> None:
    known = {f"CXSTREAM_{n.upper()}" for n in Settings.model_fields}
    assert set(ROWS) <= known, f"README documents settings that do not exist: {set(ROWS) - known}"
