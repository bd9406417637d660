"""Storage foundations: one declarative Base, portable types, the engine, units of work."""
