"""Servicio notificaciones del Buzón IMSS."""
