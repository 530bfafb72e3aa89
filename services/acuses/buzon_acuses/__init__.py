"""Servicio acuses del Buzón IMSS."""
