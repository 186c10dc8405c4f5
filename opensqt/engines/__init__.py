"""Composition roots: the grid and arbitrage engines, their start-up order and shutdown."""
