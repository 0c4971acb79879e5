"""Measurements run by hand, not by pytest: ``python -m benchmarks.diagnosis`` (the diagnosis's accuracy)."""
