"""The sandbox's knobs: HubSpot's limits to imitate, the portals it serves, the faults to inject
and the adversarial modes that show how HubSpot really misbehaves."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sandbox.hubspot import ObjectType


class Fault(StrEnum):
    """What an injected fault does to a request (drawn with probability ``error_rate``)."""

    LOCKED = "423"  # a record lock during a large sync
    BAD_GATEWAY = "502"
    UNAVAILABLE = "503"
    GATEWAY_TIMEOUT = "504"
    ORIGIN_TIMEOUT = "524"
    DROP = "drop"  # the connection closes before the request is applied
    LOST = "lost"  # the request is applied, then the connection closes before the answer

    @property
    def status(self) -> int | None:
        return int(self.value) if self.value.isdigit() else None


DEFAULT_FAULTS = (Fault.BAD_GATEWAY, Fault.UNAVAILABLE, Fault.GATEWAY_TIMEOUT)
#: Gateway answers that HubSpot's edge can send after the write behind them was committed.
APPLIED_ERRORS = (502, 504, 524)
LIFECYCLE_POLICIES = ("ignore", "refuse")
#: The settings ``adversarial`` turns on.
ADVERSARIAL_FIELDS = (
    "applied_error_rate", "applied_errors", "applied_timeout_rate", "applied_timeout_ms",
    "search_lag_ms", "search_lag_max_ms", "shuffle_results", "echo_trace_ids",
    "duplicate_wordings",
)  # fmt: skip


def _zone(name: str, field_name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{field_name} must be an IANA zone name (got {name!r})") from None


@dataclass(frozen=True, slots=True)
class PortalConfig:
    """One portal (HubSpot account) of a many-portal sandbox, reached with ``token``.

    ``tier``, ``daily_limit`` and ``time_zone`` left None take the sandbox-wide value.
    """

    token: str = field(repr=False)
    portal_id: int
    tier: int | None = None
    daily_limit: int | None = None
    time_zone: str | None = None

    def __post_init__(self) -> None:
        if not self.token or any(c.isspace() for c in self.token):
            raise ValueError("portal token must be a non-empty string without spaces")
        if self.portal_id < 1:
            raise ValueError(f"portal_id must be at least 1 (got {self.portal_id})")
        if self.tier is not None and self.tier < 1:
            raise ValueError(f"portal {self.portal_id}: tier must be at least 1 (got {self.tier})")
        if self.daily_limit is not None and self.daily_limit < 0:
            raise ValueError(
                f"portal {self.portal_id}: daily must be >= 0 (got {self.daily_limit})"
            )
        if self.time_zone is not None:
            _zone(self.time_zone, f"portal {self.portal_id}: tz")

    @classmethod
    def parse(cls, text: str) -> PortalConfig:
        """``TOKEN:PORTALID[,tier=N,daily=N,tz=Area/City]``, as ``--portal`` takes it."""
        head, *options = text.split(",")
        token, sep, portal = head.rpartition(":")
        if not sep or not token:
            raise ValueError(f"--portal must look like TOKEN:PORTALID[,tier=N,...] (got {text!r})")
        fields: dict[str, Any] = {"token": token, "portal_id": _integer("portal id", portal)}
        names = {"tier": "tier", "daily": "daily_limit", "tz": "time_zone"}
        for option in options:
            key, _, value = option.partition("=")
            if key.strip() not in names:
                raise ValueError(f"--portal option {key!r} is not one of tier, daily, tz")
            name = names[key.strip()]
            fields[name] = value.strip() if name == "time_zone" else _integer(key, value)
        return cls(**fields)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> PortalConfig:
        known = {"token", "portal_id", "tier", "daily_limit", "time_zone"}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"portal entries take {', '.join(sorted(known))}; not {unknown}")
        return cls(**dict(raw))

    def to_json(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        del values["token"]  # a secret: never echoed
        return values


def _integer(name: str, text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError(f"{name} must be an integer (got {text!r})") from None


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    """How the sandbox behaves. Defaults imitate a Free/Starter private app with no faults.

    ``tier`` is the burst limit per token per ``window_ms``; ``daily_limit`` the account's daily
    budget (0: none, and no daily headers, as for OAuth apps). ``tokens`` lists the tokens that
    authenticate (empty: any bearer token does; each token is its own app with its own burst
    window). ``retry_after_s`` adds Retry-After to 429s (HubSpot's REST 429s were recorded
    without it). ``error_rate`` is the probability that a request meets one of ``faults``,
    drawn from a RNG seeded with ``seed``. Properties must exist (HubSpot's own, or created
    through the properties API) when ``strict_properties`` is on, as on a real account.

    ``portals`` adds portals of their own, each reached by its token; any other token reaches
    the default portal (``portal_id``). The adversarial modes, all off by default and all drawn
    from ``seed``: ``applied_error_rate`` (a write is committed, then answered with one of
    ``applied_errors``), ``applied_timeout_rate`` (committed, then the connection is held
    ``applied_timeout_ms`` and closed without an answer), ``search_lag_max_ms`` (each object's
    search lag drawn from ``search_lag_ms`` to this), ``shuffle_results`` (batch results in
    random order), ``echo_trace_ids`` off (results without their ``objectWriteTraceId``),
    ``duplicate_wordings`` (the unique-value refusal in HubSpot's other wordings and statuses).
    ``lifecycle_backwards`` is what a contact's ``lifecyclestage`` moved to an earlier stage
    meets: ``ignore`` (the value stays, as HubSpot does) or ``refuse`` (a 400).
    """

    tier: int = 100
    window_ms: int = 10_000
    daily_limit: int = 250_000
    search_per_second: int = 5
    latency_ms: int = 0
    latency_jitter_ms: int = 0
    error_rate: float = 0.0
    faults: tuple[Fault, ...] = DEFAULT_FAULTS
    retry_after_s: int | None = None
    seed: int = 0
    tokens: tuple[str, ...] = field(default=(), repr=False)
    portal_id: int = 62_515_000
    time_zone: str = "UTC"
    search_lag_ms: int = 1_000
    strict_properties: bool = True
    denied_types: tuple[ObjectType, ...] = ()
    auth_failure: bool = False
    portals: tuple[PortalConfig, ...] = ()
    applied_error_rate: float = 0.0
    applied_errors: tuple[int, ...] = APPLIED_ERRORS
    applied_timeout_rate: float = 0.0
    applied_timeout_ms: int = 30_000
    search_lag_max_ms: int | None = None
    shuffle_results: bool = False
    echo_trace_ids: bool = True
    duplicate_wordings: bool = False
    lifecycle_backwards: str = "ignore"

    def __post_init__(self) -> None:
        self._check_ranges()
        applied = tuple(int(s) for s in self.applied_errors)
        if not applied or any(s < 500 or s > 599 for s in applied):
            raise ValueError(f"applied_errors must be 5xx statuses (got {list(applied)})")
        if self.lifecycle_backwards not in LIFECYCLE_POLICIES:
            raise ValueError(
                f"lifecycle_backwards must be ignore or refuse (got {self.lifecycle_backwards!r})"
            )
        _zone(self.time_zone, "time_zone")
        portals = tuple(
            p if isinstance(p, PortalConfig) else PortalConfig.from_mapping(p) for p in self.portals
        )
        for seen in ({p.token for p in portals}, {p.portal_id for p in portals}):
            if len(seen) != len(portals):
                raise ValueError("portals must have distinct tokens and portal ids")
        object.__setattr__(self, "portals", portals)
        object.__setattr__(self, "applied_errors", applied)
        object.__setattr__(self, "faults", tuple(Fault(f) for f in self.faults))
        denied = tuple(ObjectType.from_path(str(t)) for t in self.denied_types)
        object.__setattr__(self, "denied_types", denied)

    def _check_ranges(self) -> None:
        for name in ("tier", "window_ms", "search_per_second", "portal_id"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1 (got {getattr(self, name)})")
        for name in (
            "daily_limit", "latency_ms", "latency_jitter_ms", "search_lag_ms", "applied_timeout_ms"
        ):  # fmt: skip
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0 (got {getattr(self, name)})")
        for name in ("error_rate", "applied_error_rate", "applied_timeout_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be from 0 to 1 (got {getattr(self, name)})")
        if self.error_rate > 0 and not self.faults:
            raise ValueError("faults must name at least one fault when error_rate > 0")
        if self.retry_after_s is not None and self.retry_after_s < 0:
            raise ValueError(f"retry_after_s must be >= 0 (got {self.retry_after_s})")
        if self.search_lag_max_ms is not None and self.search_lag_max_ms < self.search_lag_ms:
            raise ValueError(
                f"search_lag_max_ms must be >= search_lag_ms (got {self.search_lag_max_ms} "
                f"< {self.search_lag_ms})"
            )

    def updated(self, **changes: Any) -> SandboxConfig:
        """A copy with ``changes`` applied (validated like a new config)."""
        return dataclasses.replace(self, **changes)

    def adversarial(self) -> SandboxConfig:
        """Every adversarial mode on at rates that show up within a few thousand requests."""
        return self.updated(
            applied_error_rate=0.03,
            applied_timeout_rate=0.02,
            applied_timeout_ms=min(self.applied_timeout_ms, 30_000),
            search_lag_ms=max(self.search_lag_ms, 1_000),
            search_lag_max_ms=max(self.search_lag_max_ms or 0, 60_000, self.search_lag_ms),
            shuffle_results=True,
            echo_trace_ids=False,
            duplicate_wordings=True,
        )

    def to_json(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["tokens"] = len(self.tokens)  # how many, never which
        values["faults"] = [str(f) for f in self.faults]
        values["applied_errors"] = list(self.applied_errors)
        values["denied_types"] = [t.path for t in self.denied_types]
        values["portals"] = [p.to_json() for p in self.portals]
        return values

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> SandboxConfig:
        """A config from a JSON/TOML document's keys (the field names); lists become tuples."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - names - {"adversarial"})
        if unknown:
            raise ValueError(f"unknown sandbox settings: {', '.join(unknown)}")
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
        if values.pop("adversarial", False):  # the modes' rates, unless set explicitly
            on = cls().adversarial()
            values = {**{name: getattr(on, name) for name in ADVERSARIAL_FIELDS}, **values}
        return cls(**values)


def load_config_file(path: Path) -> dict[str, Any]:
    """The settings of a ``--config`` file: JSON, or TOML when the name ends in ``.toml``."""
    text = path.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not valid {path.suffix.lstrip('.') or 'JSON'}: {exc}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: the document must be an object of settings")
    return raw
