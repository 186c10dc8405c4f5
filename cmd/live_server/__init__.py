"""The `live_server` program: a thin entry point over the opensqt core."""
