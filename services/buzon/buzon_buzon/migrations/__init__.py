"""Alembic migrations of the buzon service (its tests run them; buzon-migrar once the entry point is wired)."""
