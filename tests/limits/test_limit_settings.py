"""The HUBSPOT_* limit settings: tier defaults, overrides, and one-line errors naming the field."""

from __future__ import annotations

import os

import pytest

from engine.settings import Settings, SettingsError, load_settings
from limits import LimitConfig, LimitConfigError


@pytest.fixture(autouse=True)
def no_hubspot_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts without HUBSPOT_* variables."""
    for name in list(os.environ):
        if name.upper().startswith("HUBSPOT_"):
            monkeypatch.delenv(name)


def test_defaults_are_hubspots_free_tier() -> None:
    """Unset, the limits are 100 per 10 s (plus a 500 ms margin), 250,000 a day, 15 s cooldown,
    a breaker tripping above 8 failures in 60 s, and buckets sized from the window."""
    config = Settings().limits.config()
    assert (config.window_limit, config.effective_window_ms, config.daily_limit) == (
        100,
        10_500,
        250_000,
    )
    assert (config.cooldown_ms, config.breaker_failures, config.breaker_window_ms) == (
        15_000,
        8,
        60_000,
    )
    assert config.buckets["contact"] == 100 * 6 * 100
    assert config.buckets["note"] == 100 * 6 * 100 // 2


@pytest.mark.parametrize(
    ("tier", "daily"), [(100, 250_000), (110, None), (190, 625_000), (250, 1_000_000)]
)
def test_each_tier_brings_its_daily_limit(tier: int, daily: int | None) -> None:
    """The tier sets the burst limit and the daily default HubSpot publishes for it."""
    config = Settings.from_env(HUBSPOT_TIER=tier).limits.config()
    assert (config.window_limit, config.daily_limit) == (tier, daily)


def test_variables_override_the_tier(monkeypatch: pytest.MonkeyPatch) -> None:
    """HUBSPOT_DAILY_LIMIT=0 removes the daily limit; bucket, breaker and zone variables apply."""
    for name, value in {
        "HUBSPOT_TIER": "190",
        "HUBSPOT_DAILY_LIMIT": "0",
        "HUBSPOT_BUCKET_NOTE": "500",
        "HUBSPOT_BREAKER_OPEN_MS": "5000",
        "HUBSPOT_TIMEZONE": "Europe/Berlin",
        "HUBSPOT_WINDOW_MARGIN_MS": "0",
    }.items():
        monkeypatch.setenv(name, value)
    config = load_settings().limits.config()
    assert config.daily_limit is None
    assert config.buckets["note"] == 500
    assert config.breaker_open_ms == 5_000
    assert config.timezone == "Europe/Berlin"
    assert config.effective_window_ms == 10_000


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("HUBSPOT_TIER", "120", "HUBSPOT_TIER must be one of 100, 110, 190, 250 (got '120')"),
        ("HUBSPOT_BUCKET_CONTACT", "99", "HUBSPOT_BUCKET_CONTACT must be an integer >= 100"),
        ("HUBSPOT_TIMEZONE", "Mars/Base", "HUBSPOT_TIMEZONE must be an IANA time zone name"),
        ("HUBSPOT_BREAKER_FAILURES", "zero", "HUBSPOT_BREAKER_FAILURES must be an integer"),
        ("HUBSPOT_WINDOW_MARGIN_MS", "9000", "HUBSPOT_WINDOW_MARGIN_MS must be an integer from 0"),
    ],
)
def test_bad_values_stop_with_one_line(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    """A bad value gives the usual one-line error naming the variable."""
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith(expected)
    assert "\n" not in str(caught.value)


def test_limit_config_names_the_bad_field() -> None:
    """LimitConfig built by hand refuses impossible values, naming the field."""
    with pytest.raises(LimitConfigError, match="window_limit"):
        LimitConfig(window_limit=0)
    with pytest.raises(LimitConfigError, match=r"buckets\['note'\]"):
        LimitConfig(buckets={"note": 50})
    with pytest.raises(LimitConfigError, match="unknown kind 'notes'"):
        LimitConfig(buckets={"notes": 500})
    with pytest.raises(LimitConfigError, match="tier"):
        LimitConfig.for_tier(150)
