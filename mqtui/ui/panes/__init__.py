"""The console's four panes, one tab each: Destinations, Lag, Tail, Dead letters."""
