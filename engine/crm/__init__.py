"""The HubSpot client: what SimCRM sends to a HubSpot account and how it reads the answers.

- :mod:`engine.crm.transport` — :class:`HubSpotTransport`, the process's aiohttp session to one
  base URL with the limiter around every request, and the classification of failures.
- :mod:`engine.crm.portal` — :class:`PortalClient`, every operation on one account over a
  transport: single and batch object writes and reads, search, properties, associations.
- :mod:`engine.crm.account` — :func:`check_token`: whose account a token opens.
- :mod:`engine.crm.objects` — object types, association ids and the payloads sent.
- :mod:`engine.crm.results` — per-item results of batch calls; :mod:`engine.crm.classify` turns
  HubSpot's answers into :mod:`engine.crm.errors` (the failure categories).

The HubSpot imitation used by tests, the demo and benchmarks is the separate :mod:`sandbox`.
Imports run one way: account and portal over transport, transport over classify and errors.
"""

from engine.crm.account import AccountDetails, check_token
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
    UnusableProperty,
    ValidationFailed,
)
from engine.crm.objects import (
    SIMCRM_KEY,
    SIMCRM_RECORD_INDEX,
    SIMCRM_SIMULATED_AT,
    SIMCRM_SIMULATION_ID,
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
from engine.crm.portal import Pipeline, PortalClient, SearchPage, Stage
from engine.crm.results import BatchResult, ItemResult, ReadResult
from engine.crm.transport import HubSpotTransport, Response

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
    "HubSpotTransport",
    "ItemResult",
    "NetworkError",
    "NotFound",
    "ObjectInput",
    "ObjectType",
    "Pipeline",
    "PortalClient",
    "PropertySpec",
    "RateLimitPolicy",
    "RateLimited",
    "ReadResult",
    "Response",
    "SearchPage",
    "ServerError",
    "Stage",
    "Throttled",
    "UnexpectedResponse",
    "UnusableProperty",
    "UpdateInput",
    "UpsertInput",
    "ValidationFailed",
    "association_type_id",
    "check_token",
    "hs_timestamp",
]
