"""Benchmarks: timing goals live here, never in the test suite. Run with `./dev bench`."""
