"""What every Buzón IMSS service shares: configuration, clock, errors, database, events and metrics."""
