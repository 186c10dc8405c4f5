"""Concurrency building blocks for the imperative shell: channels with explicit full-policies, limiters."""
