"""Benchmarks of built models in real TF.js: timing (measure), the committed record (record), the command (run)."""
