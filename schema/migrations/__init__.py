"""Alembic migrations for the store; run them with `simcrm migrate` (see schema/migrate.py)."""
