"""One registry for the PE zoo: every encoding is chosen by name from a config.

Adding a PE = one new module with a ``@register(...)`` class + an import line in ``__init__`` +
its property test. Nothing else changes.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

from petra.encodings.base import PositionalEncoding
from petra.errors import PetraError


@dataclass(frozen=True)
class EncodingSpec:
    name: str
    cls: type[PositionalEncoding]
    description: str

    @property
    def kind(self) -> str:
        return self.cls.kind


_REGISTRY: dict[str, EncodingSpec] = {}


def register(name: str, description: str) -> Callable[[type[PositionalEncoding]], type[PositionalEncoding]]:
    def decorate(cls: type[PositionalEncoding]) -> type[PositionalEncoding]:
        if name in _REGISTRY:
            raise ValueError(f"positional encoding {name!r} registered twice")
        _REGISTRY[name] = EncodingSpec(name, cls, description)
        return cls

    return decorate


def available() -> list[EncodingSpec]:
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def get_spec(name: str) -> EncodingSpec:
    if name not in _REGISTRY:
        raise PetraError(f"unknown positional encoding {name!r}; available: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def build_encoding(
    name: str, dim: int, num_heads: int, max_len: int, options: dict[str, Any] | None = None
) -> PositionalEncoding:
    """Instantiate encoding ``name``; ``options`` are its keyword arguments (validated here)."""
    cls = get_spec(name).cls
    options = dict(options or {})
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self", "dim", "num_heads", "max_len"}
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise PetraError(
            f"model.encoding_options: unknown option(s) {unknown} for encoding {name!r}; "
            f"accepted: {sorted(accepted) or 'none'}"
        )
    try:
        return cls(dim=dim, num_heads=num_heads, max_len=max_len, **options)
    except (ValueError, TypeError) as exc:
        raise PetraError(f"model.encoding_options for {name!r}: {exc}") from exc


def check_fit(names: list[str], model: Any) -> None:
    """Every named PE exists and builds with its ``model.encoding_options``, and the LSTM gets only
    additive ones (it has no attention) - asked of the built instance, since options can change how
    an encoding acts (random_ordered on RoPE is rotary). A ValueError, for config validation."""
    for name in names:
        try:
            encoding = build_encoding(name, model.dim, model.heads, model.max_len, model.encoding_options.get(name))
        except PetraError as exc:
            raise ValueError(str(exc)) from None
        if model.architecture == "lstm" and encoding.kind not in ("additive", "none"):
            options = model.encoding_options.get(name)
            raise ValueError(f"model.architecture 'lstm' takes additive encodings only; encoding {name!r}"
                             f"{f' with options {options}' if options else ''} acts on attention ({encoding.kind})")
