"""Alembic migrations of the activacion service (run by buzon-migrar)."""
