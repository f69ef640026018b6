"""petra: Positional Encodings for TRAnsfer.

Which positional encoding, and which transfer recipe, carries what a model learned on a
high-resource language over to a low-resource one? The package follows the data flow:
config -> data -> model (with PE) -> training -> experiments -> results.
"""

__version__ = "0.1.0"
