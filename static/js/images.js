// Image browser behaviours.
