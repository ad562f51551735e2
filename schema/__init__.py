"""The durable store: users, HubSpot credentials, simulations and their durable counters.

One schema serves SQLite (the default, a file) and MySQL/MariaDB (``mysql+asyncmy://``), created and
upgraded by the migrations in ``schema/migrations`` (``simcrm migrate``). Open it with
``async with Store.open(url) as store:`` and use its repositories: ``store.users``,
``store.credentials``, ``store.simulations``, ``store.counters``.
"""

from schema.errors import (
    DuplicateEmail,
    IllegalTransition,
    NotFound,
    SchemaOutOfDate,
    StoreError,
    TokenDecryptError,
)
from schema.simulations import NewSimulation, Simulation, SimulationStatus
from schema.store import Store
from schema.users import Role, User

__all__ = [
    "DuplicateEmail",
    "IllegalTransition",
    "NewSimulation",
    "NotFound",
    "Role",
    "SchemaOutOfDate",
    "Simulation",
    "SimulationStatus",
    "Store",
    "StoreError",
    "TokenDecryptError",
    "User",
]
