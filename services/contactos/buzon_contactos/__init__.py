"""Servicio contactos del Buzón IMSS."""
