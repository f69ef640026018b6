"""Data: synthetic typology-controlled languages (embedded default) and, later, UD treebanks."""
