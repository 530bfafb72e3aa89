"""Alembic migrations of the contactos service (run by buzon-migrar)."""
