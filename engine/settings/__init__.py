"""Settings: read once from the environment at an entry point, then passed down as one object.

:func:`load_settings` is the only reader of the process environment. A bad value stops start-up
with :class:`SettingsError`, whose message is one line naming the variable and what it must be::

    CONTACT_ATTEMPTS must be an integer from 1 to 10 (got '11')

:class:`Settings` is made of one section per concern, each in its own module, each taking its
defaults from the package whose options it holds and building that package's config object:

==================  ============================  =============================================
``settings.``       section                       builds / feeds
==================  ============================  =============================================
``redis``           :mod:`.redis`                 the Redis endpoint; SIMCRM_KEY_PREFIX
``database``        :mod:`.database`              the store's URL
``queue``           :mod:`.queue`                 :class:`streams.QueueConfig`
``retries``         :mod:`.retries`               :class:`streams.RetryPolicy` per job type
``hubspot``         :mod:`.hubspot`               the HubSpot client (engine/crm)
``limits``          :mod:`.limits`                :class:`limits.LimitConfig`
``runtime``         :mod:`.runtime`               the expander's config, thinning, the sandbox
``api``             :mod:`.api`                   ``simcrm serve`` and the ``simcrm sim`` client
``security``        :mod:`.security`              the token encryption keys
``observability``   :mod:`.observability`         progress, Prometheus, logs
==================  ============================  =============================================

Tests and entry points build settings from the variables' names, never from the layout:
``Settings.from_env(CONTACT_ATTEMPTS=2)``, ``settings.replace(SIMCRM_QUEUE_SHARDS=4)``.
"""

from engine.settings.api import ApiSettings
from engine.settings.crypto import decode_secret, key_id
from engine.settings.database import DEFAULT_DATABASE_URL, DatabaseSettings
from engine.settings.errors import SettingsError
from engine.settings.hubspot import HubSpotSettings
from engine.settings.limits import LimitSettings
from engine.settings.observability import ObservabilitySettings
from engine.settings.queue import QueueSettings
from engine.settings.redis import RedisSettings
from engine.settings.retries import RetrySettings
from engine.settings.runtime import RuntimeSettings
from engine.settings.security import SecuritySettings
from engine.settings.settings import Settings, load_settings, variables

__all__ = [
    "DEFAULT_DATABASE_URL",
    "ApiSettings",
    "DatabaseSettings",
    "HubSpotSettings",
    "LimitSettings",
    "ObservabilitySettings",
    "QueueSettings",
    "RedisSettings",
    "RetrySettings",
    "RuntimeSettings",
    "SecuritySettings",
    "Settings",
    "SettingsError",
    "decode_secret",
    "key_id",
    "load_settings",
    "variables",
]
