"""One registry for the PE zoo: every encoding is chosen by name from a config.

Adding a PE = one new module with a ``@register(...)`` class + an import line in ``__init__`` +
its property test. Nothing else changes.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

from petra.encodings.base import PositionalEncoding
from petra.errors import FieldError, PetraError


@dataclass(frozen=True)
class EncodingSpec:
    name: str
    cls: type[PositionalEncoding]
    description: str

    @property
    def kind(self) -> str:
        return self.cls.kind


_REGISTRY: dict[str, EncodingSpec] = {}

# The sets experiments compare by default (their configs' `encodings`), and the single PEs that
# commands default to; kept here so that code outside encodings/ never names an encoding.
TRANSFER_DEFAULT = ("sinusoidal", "learned", "rope", "random_gaussian")
BOUND_DEFAULT = ("random_gaussian", "sinusoidal", "learned")
LENGTHGEN_DEFAULT = ("random_ordered", "random_gaussian", "sinusoidal", "learned", "rope", "alibi", "none")
DEFAULT_ENCODING = "sinusoidal"
BERT_ENCODING = "learned"  # BERT's absolute learned positions
# A pretrained model's own positions (model.pretrained): its table, carried as a `learned` PE whose rows
# start as the pretrained ones (the same numbers as the untouched model; tested), so every recipe and
# measure that reads a PE reads this one too.
KEEP = "keep"


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
    if name == KEEP:
        return _REGISTRY[BERT_ENCODING]
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


def _built(name: str, model: Any) -> PositionalEncoding:
    try:
        return build_encoding(name, model.dim, model.heads, model.max_len, model.encoding_options.get(name))
    except PetraError as exc:
        where = f"model.encoding_options.{name}" if name in model.encoding_options else "encodings"
        raise FieldError(where, str(exc)) from None


def kind_of(name: str, model: Any) -> str:
    """How PE ``name`` acts with ``model``'s options (random_ordered on RoPE is rotary)."""
    return _built(name, model).kind


def has_parameters(name: str, model: Any) -> bool:
    """Whether PE ``name`` with ``model``'s options has parameters a recipe could train."""
    return any(True for _ in _built(name, model).parameters())


def check_covers(names: list[str], model: Any, positions: int, what: str) -> None:
    """Every named PE has a position for each of ``positions`` (``what`` says whose); else a
    ValueError naming the config field that bounds the PE."""
    for name in names:
        limit = _built(name, model).position_limit
        if limit is not None and limit[0] < positions:
            raise FieldError(limit[1], f"{limit[1]} ({limit[0]}) must cover {what} ({positions} positions): encoding {name!r} "
                             f"has no position beyond {limit[0] - 1}")


def check_fit(names: list[str], model: Any) -> None:
    """Every named PE exists and builds with its ``model.encoding_options``, and the LSTM gets only
    additive ones (it has no attention) - asked of the built instance, since options can change how
    an encoding acts (random_ordered on RoPE is rotary). A ValueError, for config validation."""
    for name in names:
        encoding = _built(name, model)
        if model.architecture == "lstm" and encoding.kind not in ("additive", "none"):
            options = model.encoding_options.get(name)
            raise FieldError("encodings", f"model.architecture 'lstm' takes additive encodings only; encoding {name!r}"
                             f"{f' with options {options}' if options else ''} acts on attention ({encoding.kind})")
