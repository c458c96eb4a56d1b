"""Benchmarks: scripts that print their figures, a one-line summary last (see README)."""
