"""A local twin of HubSpot's CRM API, faithful enough that a run against it predicts a run
against HubSpot: the same paths, statuses, bodies, error shapes, validation, rate-limit headers
and limits (research/hubspot-api.md §9), many portals in one process, with knobs for tier,
latency, faults and auth failures, and adversarial modes that misbehave as HubSpot does.

:func:`start_sandbox` / :class:`Sandbox` run it in-process; ``simcrm sandbox`` on its own.
"""

from sandbox.config import DEFAULT_FAULTS, Fault, PortalConfig, SandboxConfig
from sandbox.server import Sandbox, start_sandbox
from sandbox.stats import SandboxStats
from sandbox.store import Link, SandboxObject

__all__ = [
    "DEFAULT_FAULTS",
    "Fault",
    "Link",
    "PortalConfig",
    "Sandbox",
    "SandboxConfig",
    "SandboxObject",
    "SandboxStats",
    "start_sandbox",
]
