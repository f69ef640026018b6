"""petra: Positional Encodings for TRAnsfer.

Which positional encoding, and which transfer recipe, carries what a model learned on a
high-resource language over to a low-resource one? The package follows the data flow:
config -> data -> model (with PE) -> training -> experiments -> results.

From Python: ``petra.run(config, **overrides)`` and ``petra.load_results(folder)`` (petra.api).
"""

from petra.version import __version__

__all__ = ["Results", "demo_config", "load_results", "run"]


def __getattr__(name: str):
    # petra.run and friends load pandas and the engine; `import petra` (the CLI's version) stays light
    if name in __all__:
        from petra import api

        return getattr(api, name)
    raise AttributeError(f"module 'petra' has no attribute {name!r}")
