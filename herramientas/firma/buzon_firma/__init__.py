"""buzon-firma: firma local con la e.firma de SAT para el Buzón IMSS."""
