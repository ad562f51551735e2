"""``simcrm demo``: a whole simulation end to end on the embedded defaults."""
