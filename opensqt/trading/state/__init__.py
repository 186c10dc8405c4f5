"""State managers fed by events (`apply(event)`), idempotent: slots for the grid, legs for arbitrage."""
