"""Execution: turns commands into venue calls with rate limits, retries, post-only fallback and batching."""
