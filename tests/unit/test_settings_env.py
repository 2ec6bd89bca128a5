"""``CXSTREAM_*`` environment variables reach ``Settings``; out-of-range values are refused.

``get_settings`` is what every command calls: its ``SettingsError`` is one line naming the
variable, the value given and the whole range the field allows.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.settings import Settings, SettingsError, get_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("CXSTREAM_"):
            monkeypatch.delenv(name)


def test_environment_variables_are_loaded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    defaults = Settings()
    monkeypatch.setenv("CXSTREAM_PARTITIONS", "11")
    monkeypatch.setenv("CXSTREAM_RECORD_BUDGET_S", "2.5")
    monkeypatch.setenv("CXSTREAM_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("CXSTREAM_AGENTS", " score , workflow ")
    monkeypatch.setenv("CXSTREAM_SCORING_ENABLED", "false")
    monkeypatch.setenv("CXSTREAM_EMIT_EMBEDDINGS", "yes")
    monkeypatch.setenv("CXSTREAM_PLACEHOLDER_IDS", "Nobody, X ")
    monkeypatch.setenv("CXSTREAM_DEFAULT_REGION", "gb")
    monkeypatch.setenv("CXSTREAM_STORE", " Memory:// ")

    settings = get_settings()

    # every value differs from its default, so a variable that is not read fails here
    assert defaults.partitions != 11 and defaults.scoring_enabled is True
    assert settings.partitions == 11
    assert settings.record_budget_s == 2.5
    assert settings.state_dir == tmp_path / "state"
    assert settings.agents == "score,workflow"
    assert settings.agent_roles == frozenset({"score", "workflow"})
    assert settings.scoring_enabled is False
    assert settings.emit_embeddings is True
    assert settings.placeholder_id_values == frozenset({"nobody", "x", ""})
    assert settings.default_region == "GB"
    assert settings.store == "memory://"


def test_a_cli_override_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CXSTREAM_PARTITIONS", "11")
    assert get_settings(partitions=3, web_port=None).partitions == 3
    assert get_settings(web_port=None).partitions == 11


@pytest.mark.parametrize(
    ("variable", "value", "allowed"),
    [
        ("CXSTREAM_MAX_PAYLOAD_BYTES", "1023", "must be a whole number from 1024 to 524288"),
        ("CXSTREAM_MAX_PAYLOAD_BYTES", "524289", "must be a whole number from 1024 to 524288"),
        ("CXSTREAM_SESSION_TIMEOUT_S", "5.5", "must be a number from 6 to 300"),
        ("CXSTREAM_SESSION_TIMEOUT_S", "301", "must be a number from 6 to 300"),
        ("CXSTREAM_MAX_IDENTIFIERS_PER_CUSTOMER", "251", "must be a whole number from 5 to 250"),
        ("CXSTREAM_STORE_MEMORY_MIB", "7", "must be a whole number at least 8"),
        ("CXSTREAM_RECORD_BUDGET_S", "0", "must be a number more than 0 and at most 3600"),
        ("CXSTREAM_STOP_TIMEOUT_S", "601", "must be a number more than 0 and at most 600"),
        ("CXSTREAM_LOOP_STALL_TIMEOUT_S", "4", "must be a number from 5 to 3600"),
        ("CXSTREAM_MAX_RECORD_BYTES", "999999", "must be a whole number at least 1000000"),
        ("CXSTREAM_METRICS_PORT", "-1", "must be a whole number from 0 to 65535"),
    ],
)
def test_an_out_of_range_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, allowed: str
) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(SettingsError) as caught:
        get_settings()

    assert str(caught.value) == f"{variable}={value}: {allowed}"
    assert [p.env_var for p in caught.value.problems] == [variable]


def test_each_bad_variable_is_named_on_the_same_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CXSTREAM_PARTITIONS", "0")
    monkeypatch.setenv("CXSTREAM_WEB_PORT", "65536")

    with pytest.raises(SettingsError) as caught:
        get_settings()

    line = str(caught.value)
    assert "\n" not in line
    assert line == (
        "CXSTREAM_PARTITIONS=0: must be a whole number at least 1; "
        "CXSTREAM_WEB_PORT=65536: must be a whole number from 0 to 65535"
    )


def test_an_overridden_value_names_the_setting_not_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CXSTREAM_PARTITIONS", "4")

    with pytest.raises(SettingsError) as caught:
        get_settings(partitions=0)

    assert str(caught.value) == "setting partitions=0: must be a whole number at least 1"
    assert caught.value.describe({"partitions": "--partitions"}) == (
        "--partitions=0: must be a whole number at least 1"
    )


def test_the_largest_payload_bound_fits_the_smallest_record_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The field limits alone keep dead letters under the record bound (716,516 bytes at a
    524,288-byte payload), so the cross-field rule of ``Settings`` cannot fire from the env."""
    monkeypatch.setenv("CXSTREAM_MAX_PAYLOAD_BYTES", "524288")
    monkeypatch.setenv("CXSTREAM_MAX_RECORD_BYTES", "1000000")

    settings = get_settings()

    assert (settings.max_payload_bytes, settings.max_record_bytes) == (524_288, 1_000_000)
