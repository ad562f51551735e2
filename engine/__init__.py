"""The simulation domain and the runtime that drives it (see SPEC §1).

Entry points live in ``cli`` (the ``simcrm`` command). Settings, logging and the Redis
endpoint helper used by every entry point are in ``engine.settings``, ``engine.logs`` and
``engine.redis_endpoint``. Simulations are created, validated and moved between statuses only
through ``engine.simulations``, which also resolves each simulation's HubSpot account.
"""
