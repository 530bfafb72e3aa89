"""Herramientas de desarrollo de Buzón IMSS: PKI y respondedor OCSP con el perfil de SAT."""
