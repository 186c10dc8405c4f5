"""Risk: pre-flight checks, the risk monitor, the circuit breaker and reconciliation decisions."""
