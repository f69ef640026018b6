"""Tasks beyond a label per token or sentence: dependency parsing (parse.py, mst.py)."""
