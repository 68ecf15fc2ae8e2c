"""One validated settings object: flags over BI_* variables, a bad value named in one line."""

from __future__ import annotations

import pytest

from bi_lake.errors import UserError
from bi_lake.settings import DEFAULT_LAKE, DEFAULT_SOURCE_URL, load_settings


def test_defaults_match_the_design(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BI_SOURCE_URL", "BI_LAKE", "BI_BRONZE_URI", "BI_CHUNK_ROWS"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.source_url == DEFAULT_SOURCE_URL == "sqlite:///.bi/source.db"
    assert settings.lake == DEFAULT_LAKE == "./lake"
    assert settings.bronze == "./lake/bronze" and settings.gold == "./lake/gold"
    assert settings.chunk_rows == 50_000


def test_environment_feeds_settings_and_flags_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BI_LAKE", "s3://company-lake/prod")
    monkeypatch.setenv("BI_SOURCE_URL", "mssql+pymssql://reader@db/orders")
    monkeypatch.setenv("BI_GOLD_URI", "s3://company-gold")
    settings = load_settings()
    assert settings.source_url == "mssql+pymssql://reader@db/orders"
    assert settings.silver == "s3://company-lake/prod/silver"
    assert settings.gold == "s3://company-gold"
    assert load_settings(lake="/data/lake").lake == "/data/lake"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        (
            "BI_CHUNK_ROWS",
            "lots",
            "invalid setting chunk_rows (BI_CHUNK_ROWS): Input should be a valid integer",
        ),
        ("BI_CHUNK_ROWS", "10", "invalid setting chunk_rows (BI_CHUNK_ROWS): Input should be greater than"),
        ("BI_LAKE", "ftp://host/lake", "invalid setting lake (BI_LAKE): unsupported scheme"),
        ("BI_LAKE", "s3://", "invalid setting lake (BI_LAKE): 's3://' names no bucket"),
        (
            "BI_SOURCE_URL",
            "orders.db",
            "invalid setting source_url (BI_SOURCE_URL): expected a SQLAlchemy URL",
        ),
    ],
)
def test_a_wrong_value_is_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(UserError) as caught:
        load_settings()
    assert str(caught.value).startswith(expected)
    assert "\n" not in str(caught.value)
