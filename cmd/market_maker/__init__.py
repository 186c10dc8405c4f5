"""The `market_maker` program: a thin entry point over the opensqt core."""
