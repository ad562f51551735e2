"""A simulation's definition: validated at the edge (:class:`SimulationInput`, pydantic) and
frozen inside (:class:`SimulationSpec`), with the conversions to and from the store's rows.

Validation covers every SPEC §3 field and names the field at fault: the window's end after its
start (at most 20 years long), 1 ≤ ``total_records`` ≤ 10,000,000, a known scenario with overrides
that name only known keys, a known distribution with valid parameters, an IANA timezone, a valid
calendar that leaves some weight inside the window, a seed in ``[0, 2**63)``.

The calendar in effect is the simulation's own ``calendar`` when it is not empty, else the
scenario's default (``{"preset": "none"}`` switches the default off).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from engine.model.arrivals import build_profile
from engine.model.calendar import CalendarConfig, parse_calendar
from engine.model.errors import DefinitionError
from engine.model.methods import DistributionMethod, build_shape, parse_method
from engine.model.scenario import Scenario, load_scenario
from engine.model.validation import definition_error
from schema.simulations import NewSimulation, Simulation

MAX_RECORDS = 10_000_000
MAX_WINDOW_MS = 20 * 366 * 86_400_000
MAX_SEED = 2**63


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the epoch of an aware datetime (naive ones are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def from_epoch_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DefinitionError("timezone", f"{name!r} is not an IANA timezone") from None
    return name


@dataclass(frozen=True, slots=True)
class SimulationSpec:
    """Everything the model needs about one simulation, immutable and already validated.

    Build it with :meth:`SimulationInput.to_spec`, :meth:`from_row` or :meth:`build`; the
    constructor itself does not validate.
    """

    sim_id: int
    name: str
    scenario_name: str
    scenario: Scenario
    method: DistributionMethod
    start_ms: int
    end_ms: int
    total_records: int
    seed: int
    timezone: str = "UTC"
    calendar: CalendarConfig = field(default_factory=CalendarConfig)
    scenario_overrides: Mapping[str, Any] = field(default_factory=dict)
    distribution_params: Mapping[str, Any] = field(default_factory=dict)
    calendar_json: Mapping[str, Any] = field(default_factory=dict)
    time_scale: float = 1.0
    backfill: bool = False
    target: str = "sandbox"

    @property
    def span_ms(self) -> int:
        return self.end_ms - self.start_ms

    @classmethod
    def build(
        cls,
        *,
        sim_id: int,
        name: str,
        scenario: str,
        distribution_method: str,
        start_time: datetime,
        end_time: datetime,
        total_records: int,
        seed: int | None = None,
        scenario_overrides: Mapping[str, Any] | None = None,
        distribution_params: Mapping[str, Any] | None = None,
        calendar: Mapping[str, Any] | None = None,
        timezone: str = "UTC",
        time_scale: float = 1.0,
        backfill: bool = False,
        target: str = "sandbox",
    ) -> SimulationSpec:
        """Validate every field and build the spec; ``seed`` defaults to ``sim_id``.

        Raises:
            DefinitionError: naming the first field at fault.
        """
        start_ms, end_ms = epoch_ms(start_time), epoch_ms(end_time)
        if end_ms <= start_ms:
            raise DefinitionError("end_time", "must be after start_time")
        if end_ms - start_ms > MAX_WINDOW_MS:
            raise DefinitionError("end_time", "the window may be at most 20 years long")
        if not 1 <= total_records <= MAX_RECORDS:
            raise DefinitionError("total_records", f"must be from 1 to {MAX_RECORDS:,}")
        seed = sim_id if seed is None else seed
        if not 0 <= seed < MAX_SEED:
            raise DefinitionError("seed", "must be from 0 to 2**63 - 1")
        if not time_scale >= 1:
            raise DefinitionError("time_scale", "must be >= 1")
        if target not in ("hubspot", "sandbox"):
            raise DefinitionError("target", "must be hubspot or sandbox")
        resolved = load_scenario(scenario, scenario_overrides or {})
        method = parse_method(distribution_method)
        params = dict(distribution_params or {})
        build_shape(method, params)
        own_calendar = parse_calendar(calendar)
        spec = cls(
            sim_id=sim_id,
            name=name,
            scenario_name=scenario,
            scenario=resolved,
            method=method,
            start_ms=start_ms,
            end_ms=end_ms,
            total_records=total_records,
            seed=seed,
            timezone=_zone(timezone),
            calendar=own_calendar if calendar else resolved.calendar,
            scenario_overrides=dict(scenario_overrides or {}),
            distribution_params=params,
            calendar_json=dict(calendar or {}),
            time_scale=float(time_scale),
            backfill=backfill,
            target=target,
        )
        # Building the profile proves the calendar leaves weight inside the window.
        build_profile(spec)
        return spec

    @classmethod
    def from_row(cls, row: Simulation) -> SimulationSpec:
        """The spec of a stored simulation (validated again: the code may be newer than the row).

        Raises:
            DefinitionError: the stored definition is no longer valid.
        """
        return cls.build(
            sim_id=row.id,
            name=row.name,
            scenario=row.scenario,
            distribution_method=row.distribution_method,
            start_time=row.start_time,
            end_time=row.end_time,
            total_records=row.total_records,
            seed=row.seed,
            scenario_overrides=row.scenario_overrides,
            distribution_params=row.distribution_params,
            calendar=row.calendar,
            timezone=row.timezone,
            time_scale=row.time_scale,
            backfill=row.backfill,
            target=row.target,
        )

    def definition(self) -> dict[str, Any]:
        """The definition as JSON-ready values (the fields of :class:`SimulationInput`)."""
        return {
            "name": self.name,
            "scenario": self.scenario_name,
            "scenario_overrides": dict(self.scenario_overrides),
            "distribution_method": self.method.value,
            "distribution_params": dict(self.distribution_params),
            "calendar": dict(self.calendar_json),
            "timezone": self.timezone,
            "start_time": from_epoch_ms(self.start_ms).isoformat().replace("+00:00", "Z"),
            "end_time": from_epoch_ms(self.end_ms).isoformat().replace("+00:00", "Z"),
            "total_records": self.total_records,
            "seed": self.seed,
            "time_scale": self.time_scale,
            "backfill": self.backfill,
            "target": self.target,
        }


class SimulationInput(BaseModel):
    """A simulation body as a user sends it (API, JSON file, CLI flags).

    Field validators run in declaration order and check the cross-field rules on the later
    field, so every error's location names the field at fault; nested problems (an override, a
    distribution parameter) name the rest of the path in the message. :meth:`parse` raises a
    :class:`DefinitionError` with the full dotted name instead.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=200)] = "simulation"
    scenario: str
    scenario_overrides: dict[str, Any] = Field(default_factory=dict)
    distribution_method: str = "uniform"
    distribution_params: dict[str, Any] = Field(default_factory=dict)
    timezone: str = "UTC"
    start_time: datetime
    end_time: datetime
    total_records: Annotated[int, Field(strict=True, ge=1, le=MAX_RECORDS)]
    calendar: dict[str, Any] = Field(default_factory=dict)
    seed: Annotated[int, Field(strict=True, ge=0, lt=MAX_SEED)] | None = None
    time_scale: Annotated[float, Field(ge=1)] = 1.0
    backfill: bool = False
    target: Literal["hubspot", "sandbox"] = "sandbox"

    @field_validator("scenario_overrides")
    @classmethod
    def _overrides(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        scenario = info.data.get("scenario")
        if scenario is not None:
            load_scenario(str(scenario), value)
        return value

    @field_validator("scenario")
    @classmethod
    def _scenario(cls, value: str) -> str:
        load_scenario(value)
        return value

    @field_validator("distribution_params")
    @classmethod
    def _params(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        method = info.data.get("distribution_method")
        if method is not None:
            build_shape(parse_method(method), value)
        return value

    @field_validator("distribution_method")
    @classmethod
    def _method(cls, value: str) -> str:
        return parse_method(value).value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        return _zone(value)

    @field_validator("start_time", "end_time")
    @classmethod
    def _utc(cls, value: datetime, info: ValidationInfo) -> datetime:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        start = info.data.get("start_time")
        if info.field_name == "end_time" and isinstance(start, datetime):
            if value <= start:
                raise DefinitionError("end_time", "must be after start_time")
            if epoch_ms(value) - epoch_ms(start) > MAX_WINDOW_MS:
                raise DefinitionError("end_time", "the window may be at most 20 years long")
        return value

    @field_validator("calendar")
    @classmethod
    def _calendar(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        parse_calendar(value)
        needed = ("scenario", "distribution_method", "start_time", "end_time", "total_records")
        if all(name in info.data for name in needed):
            # The whole definition: does the calendar leave weight where arrivals go?
            known = {k: v for k, v in info.data.items() if k in _BUILD_FIELDS}
            SimulationSpec.build(sim_id=0, **known, calendar=value)
        return value

    @classmethod
    def parse(cls, data: Any) -> SimulationInput:
        """Validate ``data``; the first problem raises :class:`DefinitionError` naming the field."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise _as_definition_error(exc) from None

    def to_spec(self, sim_id: int = 0) -> SimulationSpec:
        """The frozen spec (seed defaulting to ``sim_id``), with the whole-definition checks."""
        return SimulationSpec.build(sim_id=sim_id, **self._fields())

    def to_new_simulation(self, owner_id: int) -> NewSimulation:
        """The row to store with ``Store.simulations.create`` (seed None: the id becomes it)."""
        return NewSimulation(owner_id=owner_id, **self._fields())

    def _fields(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "scenario": self.scenario,
            "distribution_method": self.distribution_method,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "total_records": self.total_records,
            "scenario_overrides": self.scenario_overrides,
            "distribution_params": self.distribution_params,
            "calendar": self.calendar,
            "timezone": self.timezone,
            "seed": self.seed,
            "time_scale": self.time_scale,
            "backfill": self.backfill,
            "target": self.target,
        }


_BUILD_FIELDS = frozenset(
    {
        "name",
        "scenario",
        "scenario_overrides",
        "distribution_method",
        "distribution_params",
        "timezone",
        "start_time",
        "end_time",
        "total_records",
    }
)


def _as_definition_error(exc: ValidationError) -> DefinitionError:
    error = exc.errors()[0]
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, DefinitionError):
        return cause
    return definition_error(exc)
