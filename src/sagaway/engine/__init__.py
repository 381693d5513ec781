"""Executing interpreter steps: drivers, timers, recovery."""
