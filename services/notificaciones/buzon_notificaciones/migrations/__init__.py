"""Alembic migrations of the notificaciones service (run by buzon-migrar)."""
