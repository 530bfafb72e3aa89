"""What every Buzón IMSS service shares: configuration, clock, errors, database, events and metrics."""

import warnings

# eventlet warns at every import that it is in bug-fix mode (STACK.md): known, and noise on every command's output.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
