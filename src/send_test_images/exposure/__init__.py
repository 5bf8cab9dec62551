"""Make an exposure: pure work from a spec to the bytes of its files (no network, no state)."""
