"""Performance tooling: FLOP accounting, a measured matmul peak, step memory, and ``petra bench``."""
