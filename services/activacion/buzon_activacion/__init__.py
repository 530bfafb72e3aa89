"""Servicio activacion del Buzón IMSS."""
