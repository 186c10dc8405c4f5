"""The `arbitrage_bot` program: a thin entry point over the opensqt core."""
