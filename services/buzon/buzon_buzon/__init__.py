"""The Buzón itself: the Institute's notifications to an active Buzón, their avisos, openings and deemed notification."""
