"""OpenSQT: a crypto market maker (trailing slot grid), funding-rate arbitrage and its live view."""
