"""Measurement: stability across seeds, language similarity, data diversity, the randomized-PE bound."""
