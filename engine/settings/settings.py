"""All of SimCRM's settings: one frozen object made of one section per concern.

:func:`load_settings` reads the process environment (the only code that does); everything else
is given a :class:`Settings` and reads ``settings.queue.shards``, ``settings.hubspot.base_url``
and so on. Tests and entry points build one from environment-style names, whatever section a
variable belongs to::

    Settings.from_env(SIMCRM_QUEUE_SHARDS=2, HUBSPOT_TIER=190)
    settings.replace(REDIS_DB=14)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from engine.settings.api import ApiSettings
from engine.settings.database import DatabaseSettings
from engine.settings.hubspot import HubSpotSettings
from engine.settings.limits import LimitSettings
from engine.settings.observability import ObservabilitySettings
from engine.settings.queue import QueueSettings
from engine.settings.redis import RedisSettings
from engine.settings.retries import RetrySettings
from engine.settings.runtime import RuntimeSettings
from engine.settings.section import Section
from engine.settings.security import SecuritySettings
from streams.config import QueueConfig


class Settings(BaseModel):
    """Every setting SimCRM reads, typed and validated, by concern. ``Settings()`` is all
    defaults; it never looks at the environment."""

    model_config = ConfigDict(frozen=True)

    redis: RedisSettings = Field(default_factory=RedisSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    queue: QueueSettings = Field(default_factory=QueueSettings)
    retries: RetrySettings = Field(default_factory=RetrySettings)
    hubspot: HubSpotSettings = Field(default_factory=HubSpotSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    runtime: RuntimeSettings = Field(default_factory=RuntimeSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, object] | None = None, /, **variables: object
    ) -> Settings:
        """Settings as an environment sets them: ``environ`` (names in any case; names that are
        no setting are ignored, as an environment holds many) with ``variables`` on top (each
        must be a setting's variable). Values are strings as in an environment, or Python values
        of the fields' types.

        Raises:
            SettingsError: naming the first bad variable.
            TypeError: a keyword names no setting.
        """
        _check_names(variables)
        given = {name.upper(): value for name, value in (environ or {}).items()} | variables
        return cls(**{name: kind.from_env(given) for name, kind in _sections().items()})

    def replace(self, **variables: object) -> Settings:
        """A copy with the named variables set (``replace(SIMCRM_QUEUE_SHARDS=4)``), checked
        as :meth:`from_env` checks them; every other setting stays as it is.

        Raises:
            SettingsError: naming the bad variable.
            TypeError: a keyword names no setting.
        """
        _check_names(variables)
        updates: dict[str, Section] = {}
        for name, kind in _sections().items():
            own = {key: value for key, value in variables.items() if key in kind.variables()}
            if own:
                current: Section = getattr(self, name)
                updates[name] = kind.from_env({**current.model_dump(), **own})
        return self.model_copy(update=updates)

    def queue_config(self) -> QueueConfig:
        """The queue's config object, its keys under SIMCRM_KEY_PREFIX."""
        return self.queue.config(self.redis.key_prefix)


def _sections() -> dict[str, type[Section]]:
    """The field name and class of every section, in declaration order."""
    sections: dict[str, type[Section]] = {}
    for name, info in Settings.model_fields.items():
        kind: Any = info.annotation
        if not (isinstance(kind, type) and issubclass(kind, Section)):
            raise TypeError(f"Settings.{name} is not a section")
        sections[name] = kind
    return sections


def variables() -> frozenset[str]:
    """The name of every environment variable SimCRM reads."""
    return frozenset(name for kind in _sections().values() for name in kind.variables())


def _check_names(given: Mapping[str, object]) -> None:
    unknown = sorted(set(given) - variables())
    if unknown:
        raise TypeError(f"not a setting: {', '.join(unknown)}")


def load_settings() -> Settings:
    """Build Settings from the process environment, with one-line errors.

    Raises:
        SettingsError: naming the first bad variable, what it must be, and the value given
            (never the value of a secret).
    """
    environ = dict(os.environ)
    return Settings(**{name: kind.from_process(environ) for name, kind in _sections().items()})
