"""Alembic migrations of the auth service (run by buzon-migrar)."""
