"""The HTTP front of the Buzón IMSS: JSON over HTTP in, RPC to the services out."""
