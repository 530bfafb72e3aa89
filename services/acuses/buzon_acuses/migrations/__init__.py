"""Alembic migrations of the acuses service (run by buzon-migrar)."""
