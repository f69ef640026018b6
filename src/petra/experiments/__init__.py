"""Experiments: a config in, run records out."""
