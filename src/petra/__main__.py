"""`python -m petra ...` (what `accelerate launch -m petra ...` runs)."""

from petra.cli import entry

entry()
