"""Finding messages: one expression language (`expression`) evaluated on one document per message
(`document`), and the search over a range of a destination that states exactly what it covered
(`service`, `coverage`). Kept import-light: the jq engine loads when an expression is compiled."""
