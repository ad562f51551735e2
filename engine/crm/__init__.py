"""CRM targets: the HubSpot client and the local HubSpot sandbox.

- :class:`HubSpotClient` owns the process's aiohttp session; ``client.portal(id, token)`` gives a
  :class:`PortalClient` with the object operations; ``client.check_token(token)`` validates a
  token and names its account.
- :mod:`engine.crm.objects` holds the object types, association ids and payloads.
- :mod:`engine.crm.errors` the failure categories; :mod:`engine.crm.results` per-item results.
- :mod:`sandbox` the imitation of HubSpot for tests, the demo and benchmarks.
"""

from engine.crm.batches import ReadResult
from engine.crm.errors import (
    AuthFailed,
    BatchTooLarge,
    Conflict,
    CrmError,
    ErrorCategory,
    NetworkError,
    NotFound,
    RateLimited,
    RateLimitPolicy,
    ServerError,
    Throttled,
    UnexpectedResponse,
    ValidationFailed,
)
from engine.crm.objects import (
    SIMCRM_KEY,
    SIMCRM_RECORD_INDEX,
    SIMCRM_SIMULATED_AT,
    SIMCRM_SIMULATION_ID,
    AccountDetails,
    Association,
    CrmObject,
    ObjectInput,
    ObjectType,
    PropertySpec,
    UpdateInput,
    UpsertInput,
    association_type_id,
    hs_timestamp,
)
from engine.crm.portal import PortalClient, SearchPage
from engine.crm.results import BatchResult, ItemResult
from engine.crm.transport import HubSpotClient, Response

__all__ = [
    "SIMCRM_KEY",
    "SIMCRM_RECORD_INDEX",
    "SIMCRM_SIMULATED_AT",
    "SIMCRM_SIMULATION_ID",
    "AccountDetails",
    "Association",
    "AuthFailed",
    "BatchResult",
    "BatchTooLarge",
    "Conflict",
    "CrmError",
    "CrmObject",
    "ErrorCategory",
    "HubSpotClient",
    "ItemResult",
    "NetworkError",
    "NotFound",
    "ObjectInput",
    "ObjectType",
    "PortalClient",
    "PropertySpec",
    "RateLimitPolicy",
    "RateLimited",
    "ReadResult",
    "Response",
    "SearchPage",
    "ServerError",
    "Throttled",
    "UnexpectedResponse",
    "UpdateInput",
    "UpsertInput",
    "ValidationFailed",
    "association_type_id",
    "hs_timestamp",
]
