"""The bitácora: an append-only record of every event the services announce (what, about whom, when)."""
