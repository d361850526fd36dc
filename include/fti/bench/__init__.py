"""Benchmarks: each prints a table and records its figures under its area in ``bench/results.json``."""
